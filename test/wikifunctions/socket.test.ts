// The websocket the 2023 orchestrator opens for reentrant calls (FUNCTION_EVALUATOR_WS), against
// the real server over raw TCP: the handshake is accepted on any path (anything else would crash
// the orchestrator), close and ping are answered, and a client that breaks the protocol, sends
// oversized frames or speaks before any call was made is closed; the server serves HTTP as before.
// (Calls over the socket: socket-transport.test.ts.)

import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../helpers/server.js';
import { languageId } from './e2e.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ POLYEVAL_LANGUAGES: languageId('javascript'), POLYEVAL_POOL_SIZE: '1' });
}, 60_000);
afterAll(async () => {
  await server?.close();
});

interface Conversation {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): Buffer;
  /** Resolves when the server has closed the connection. */
  readonly ended: Promise<void>;
}

function open(request: string): Promise<Conversation> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(request);
      resolve({ socket, received: () => Buffer.concat(chunks), ended });
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    const ended = new Promise<void>((r) => socket.on('close', () => r()));
  });
}

const upgrade = (key: string, path = '/', extra = ''): string =>
  `GET ${path} HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: ${key}\r\nsec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n${extra}\r\n`;

/** A client frame (masked, as RFC 6455 requires of clients). */
function clientFrame(opcode: number, payload: Buffer, masked = true): Buffer {
  const mask = randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => (masked ? b ^ mask[i % 4]! : b)));
  const length =
    payload.length < 126
      ? Buffer.from([(masked ? 0x80 : 0) | payload.length])
      : Buffer.from([(masked ? 0x80 : 0) | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([Buffer.from([0x80 | opcode]), length, masked ? mask : Buffer.alloc(0), body]);
}

async function until(check: () => boolean): Promise<void> {
  await expect.poll(check, { timeout: 5000, interval: 10 }).toBe(true);
}

/** The bytes after the HTTP head of the answer. */
function afterHead(data: Buffer): Buffer {
  return data.subarray(data.indexOf('\r\n\r\n') + 4);
}

describe('the reentrance websocket (accepted; used only once paired)', () => {
  it('accepts the handshake on any path, without extensions, and answers a close with a close', async () => {
    for (const path of ['/', '/1/v1/evaluate/', '/anything?x=1']) {
      const key = randomBytes(16).toString('base64');
      const c = await open(upgrade(key, path));
      await until(() => c.received().includes('\r\n\r\n'));
      const head = c.received().toString('latin1');
      expect(head).toMatch(/^HTTP\/1\.1 101 /);
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      expect(head.toLowerCase()).toContain(`sec-websocket-accept: ${accept.toLowerCase()}`);
      expect(head.toLowerCase()).not.toContain('sec-websocket-extensions');
      c.socket.write(clientFrame(0x8, Buffer.from([0x03, 0xe8])));
      await c.ended;
      expect([...afterHead(c.received())]).toEqual([0x88, 2, 0x03, 0xe8]);
    }
  });

  it('closes a socket that sends a data frame before it is paired with a call (1008)', async () => {
    for (const path of ['/', '/elsewhere']) {
      const key = randomBytes(16).toString('base64');
      const c = await open(upgrade(key, path));
      await until(() => c.received().includes('\r\n\r\n'));
      const head = c.received().toString('latin1');
      expect(head).toMatch(/^HTTP\/1\.1 101 /);
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      expect(head.toLowerCase()).toContain(`sec-websocket-accept: ${accept.toLowerCase()}`);
      expect(head.toLowerCase()).not.toContain('sec-websocket-extensions');
      c.socket.write(clientFrame(0x1, Buffer.from('{"Z1K1":"Z6","Z6K1":"unasked"}')));
      // The server's close frame (it then waits for the client's, which a raw client never sends).
      await until(() => afterHead(c.received()).length >= 4 + 'it sent a frame before any call'.length);
      c.socket.destroy();
      const frame = afterHead(c.received());
      expect([...frame.subarray(0, 4)]).toEqual([0x88, frame[1], 0x03, 0xf0]);
      expect(frame.subarray(4).toString()).toBe('it sent a frame before any call');
    }
  });

  it('answers a ping with a pong', async () => {
    const c = await open(upgrade(randomBytes(16).toString('base64')));
    c.socket.write(clientFrame(0x9, Buffer.from('hi')));
    await until(() => afterHead(c.received()).length >= 4);
    expect([...afterHead(c.received())]).toEqual([0x8a, 2, ...Buffer.from('hi')]);
    c.socket.destroy();
  });

  it('closes a client that sends unmasked frames (1002) or frames over 1 MiB (1009)', async () => {
    const unmasked = await open(upgrade(randomBytes(16).toString('base64')));
    unmasked.socket.write(clientFrame(0x1, Buffer.from('x'), false));
    await until(() => afterHead(unmasked.received()).length >= 4);
    unmasked.socket.destroy();
    expect([...afterHead(unmasked.received()).subarray(0, 4)]).toEqual([
      0x88,
      expect.any(Number),
      0x03,
      0xea,
    ]);

    const huge = await open(upgrade(randomBytes(16).toString('base64')));
    const header = Buffer.alloc(14);
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(2n ** 40n, 2);
    huge.socket.write(header);
    await until(() => afterHead(huge.received()).length >= 4);
    huge.socket.destroy();
    expect([...afterHead(huge.received()).subarray(0, 4)]).toEqual([0x88, expect.any(Number), 0x03, 0xf1]);
  });

  it('refuses other upgrades with 400, and HTTP is served as before', async () => {
    for (const request of [
      'GET / HTTP/1.1\r\nhost: x\r\nupgrade: h2c\r\nconnection: Upgrade\r\n\r\n',
      upgrade('short'),
      upgrade(randomBytes(16).toString('base64')).replace('version: 13', 'version: 7'),
    ]) {
      const c = await open(request);
      await c.ended;
      expect(c.received().toString('latin1')).toMatch(/^HTTP\/1\.1 400 /);
    }
    const response = await fetch(`${server.url}/_info`);
    expect(response.status).toBe(200);
  });
});
