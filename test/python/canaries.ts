// Planted canaries for the Python escape tests: a secret in the server's environment, a secret
// file on the host, and a loopback TCP listener that records every connection. A test passes only
// if no response ever contains a secret and the listener never sees a connection.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Canaries {
  readonly envName: string;
  readonly envSecret: string;
  readonly filePath: string;
  readonly fileSecret: string;
  readonly port: number;
  /** Connections the listener accepted so far. */
  connections(): number;
  /** Every secret, for "never appears in a response" checks. */
  readonly secrets: readonly string[];
  close(): Promise<void>;
}

export async function plantCanaries(): Promise<Canaries> {
  const envSecret = `env-canary-${randomBytes(12).toString('hex')}`;
  const fileSecret = `file-canary-${randomBytes(12).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'polyeval-canary-'));
  const filePath = join(dir, 'secret.txt');
  writeFileSync(filePath, fileSecret);
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  const port = await new Promise<number>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
  return {
    envName: 'POLYEVAL_TEST_CANARY_SECRET',
    envSecret,
    filePath,
    fileSecret,
    port,
    connections: () => connections,
    secrets: [envSecret, fileSecret],
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
