// The HTTP family's wire helpers: the small limits its server runs with (so that each attack stays
// quick), and a request written by hand on a raw connection, read until the server closes it.

import type { Socket } from 'node:net';
import { sleep } from '../../../helpers/net.js';
import type { AttackContext } from '../../harness.js';

export const HTTP_LIMITS = {
  POLYEVAL_BODY_LIMIT_BYTES: '1048576',
  POLYEVAL_HEADERS_TIMEOUT_MS: '1000',
  POLYEVAL_REQUEST_TIMEOUT_MS: '3000',
  POLYEVAL_QUEUE_MAX: '8',
  POLYEVAL_MAX_CONNECTIONS: '1024',
} as const;
export const BODY_LIMIT = Number(HTTP_LIMITS.POLYEVAL_BODY_LIMIT_BYTES);
export const MAX_CONNECTIONS = Number(HTTP_LIMITS.POLYEVAL_MAX_CONNECTIONS);

/** Writes `data` (all at once, or piece by piece every `everyMs`), then reads until the server closes. */
export async function raw(
  h: AttackContext,
  data: string | Buffer | readonly (string | Buffer)[],
  options: { everyMs?: number; timeoutMs?: number; socket?: Socket } = {},
): Promise<{ text: string; closed: boolean }> {
  const socket = options.socket ?? (await h.socket());
  let text = '';
  let closed = false;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  const ended = new Promise<void>((resolve) => {
    socket.once('close', () => {
      closed = true;
      resolve();
    });
  });
  const pieces = typeof data === 'string' || Buffer.isBuffer(data) ? [data] : data;
  for (const piece of pieces) {
    if (closed) break;
    socket.write(piece);
    if (options.everyMs !== undefined) await sleep(options.everyMs);
  }
  await Promise.race([ended, sleep(options.timeoutMs ?? 10_000)]);
  h.saw(text);
  return { text, closed };
}

/** The status code of the first response in a raw answer (0 when there is none). */
export const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

/** The head of a POST /v1/evaluate: with that Content-Length, or chunked when `length` is undefined. */
export const evaluateHead = (length: number | undefined, extra = ''): string =>
  `POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${
    length === undefined ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${length}\r\n`
  }${extra}\r\n`;

/** A small valid JavaScript call. */
export const JS_CALL = JSON.stringify({ language: 'javascript', code: 'function main() { return 1 }' });
