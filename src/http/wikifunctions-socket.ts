// The websocket end the 2023 Wikifunctions orchestrator opens for a reentrant call
// (FUNCTION_EVALUATOR_WS), accepted and held, never used: reentrant calls travel over the
// orchestrator's HTTP API instead (src/wikifunctions/reentrance.ts), which needs no pairing of a
// socket with its POST. Accepting matters because the orchestrator has no error listener on its
// socket: any other answer to the upgrade (refused, 3xx, 4xx) kills the orchestrator process.
//
// Hand-written rather than the `ws` package because only the handshake, close and ping are needed
// (RFC 6455 §4.2.2, §5.5) and the project does not depend on `ws`; nothing the client sends is
// kept: data frames are dropped, a frame over MAX_FRAME_BYTES or any protocol error closes the
// socket, and a socket lives at most MAX_LIFETIME_MS. Extensions (permessage-deflate) are not
// negotiated, so frames arrive uncompressed.

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Largest frame accepted (the orchestrator sends answers to calls, which are never made here). */
export const MAX_FRAME_BYTES = 64 * 1024;
/** A socket is closed after this long whatever happens (the orchestrator closes it after its POST). */
export const MAX_LIFETIME_MS = 60_000;

const OPCODE = { close: 0x8, ping: 0x9, pong: 0xa } as const;

/** Every socket held now, so that shutdown can close them (the HTTP server does not know them). */
const held = new Set<Duplex>();

/** Closes every held socket (service shutdown). */
export function closeWikifunctionsSockets(): void {
  for (const socket of held) socket.destroy();
  held.clear();
}

function frame(opcode: number, payload: Buffer): Buffer {
  // Server frames are never masked; control payloads are at most 125 bytes.
  return Buffer.concat([Buffer.from([0x80 | opcode, payload.length]), payload]);
}

/**
 * Handles an HTTP upgrade: a websocket handshake is accepted and the socket held until the client
 * closes it (or its lifetime ends); anything else is answered 400 and closed.
 */
export function acceptWikifunctionsSocket(request: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', () => socket.destroy());
  const key = request.headers['sec-websocket-key'];
  const valid =
    request.method === 'GET' &&
    (request.headers.upgrade ?? '').toLowerCase() === 'websocket' &&
    request.headers['sec-websocket-version'] === '13' &&
    typeof key === 'string' &&
    Buffer.from(key, 'base64').length === 16;
  if (!valid) {
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  const accept = createHash('sha1').update(`${key}${GUID}`).digest('base64');
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`,
  );
  held.add(socket);
  const lifetime = setTimeout(() => close(1001), MAX_LIFETIME_MS);
  lifetime.unref();
  let pending = head;
  let closed = false;

  function close(code: number): void {
    if (closed) return;
    closed = true;
    clearTimeout(lifetime);
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code);
    socket.end(frame(OPCODE.close, payload));
  }

  function consume(): void {
    while (!closed && pending.length >= 2) {
      const first = pending[0]!;
      const second = pending[1]!;
      const opcode = first & 0x0f;
      if ((second & 0x80) === 0 || (first & 0x70) !== 0) {
        close(1002);
        return;
      } // unmasked or reserved bits
      let length = second & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (pending.length < 4) return;
        length = pending.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (pending.length < 10) return;
        const big = pending.readBigUInt64BE(2);
        if (big > BigInt(MAX_FRAME_BYTES)) {
          close(1009);
          return;
        }
        length = Number(big);
        offset = 10;
      }
      if (length > MAX_FRAME_BYTES) {
        close(1009);
        return;
      }
      if (pending.length < offset + 4 + length) {
        if (pending.length > MAX_FRAME_BYTES + 14) {
          close(1009);
          return;
        }
        return;
      }
      const mask = pending.subarray(offset, offset + 4);
      const payload = Buffer.from(pending.subarray(offset + 4, offset + 4 + length));
      for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i % 4]!;
      pending = pending.subarray(offset + 4 + length);
      if (opcode === OPCODE.close) {
        close(1000);
        return;
      }
      if (opcode === OPCODE.ping) {
        if (payload.length > 125) {
          close(1002);
          return;
        }
        socket.write(frame(OPCODE.pong, payload));
      }
      // Text, binary, continuation and pong frames: nothing is ever asked, so nothing is read.
    }
  }

  socket.on('data', (chunk: Buffer) => {
    if (closed) return;
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    consume();
  });
  socket.on('end', () => {
    clearTimeout(lifetime);
    if (!closed) socket.end();
    closed = true;
  });
  socket.on('close', () => {
    clearTimeout(lifetime);
    held.delete(socket);
  });
  consume();
}
