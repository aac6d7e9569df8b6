// Reading a request the cheap way. Behind @hono/node-server every route can reach Node's own
// IncomingMessage and ServerResponse (c.env); reading the body from there, and learning that the
// client went away from the response's 'close', costs a few microseconds, where c.req.raw builds a
// WHATWG Request with a ReadableStream and an AbortSignal on every call (~15 % of the service's
// CPU per call in a profile of the evaluate route). Outside Node's server (app.request() in tests)
// both fall back to the WHATWG request.

import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { problem } from './problem.js';

function nodeBindings(c: Context): HttpBindings | undefined {
  const env = c.env as Partial<HttpBindings> | undefined;
  return env?.incoming !== undefined && env.outgoing !== undefined ? (env as HttpBindings) : undefined;
}

/** The remote address of the connection the request came on (undefined outside Node's server). */
export function remoteAddress(c: Context): string | undefined {
  return nodeBindings(c)?.incoming.socket.remoteAddress;
}

function tooLarge(limit: number): Error {
  return problem('body-too-large', `The request body is larger than ${limit} bytes`, { limitBytes: limit });
}

/** Reads the whole body as bytes, refusing with 413 as soon as it passes `limit`, whatever Content-Length said. */
export async function readBody(c: Context, limit: number): Promise<Uint8Array> {
  const declared = Number(c.req.header('content-length') ?? Number.NaN);
  if (declared > limit) throw tooLarge(limit);
  const node = nodeBindings(c);
  return node === undefined ? readWebBody(c.req.raw.body, limit) : readNodeBody(node, limit);
}

function readNodeBody({ incoming, outgoing }: HttpBindings, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      cleanup();
      // Answer 413, then close the connection: the rest of the body is read and dropped (bounded by
      // the server's request timeout), so that the client is not reset before it reads the answer.
      outgoing.shouldKeepAlive = false;
      incoming.on('error', () => {});
      incoming.resume();
      reject(tooLarge(limit));
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    if (incoming.readableEnded) {
      resolve(new Uint8Array(0));
      return;
    }
    incoming.on('data', onData);
    incoming.once('end', onEnd);
    incoming.once('error', onError);
  });
}

async function readWebBody(stream: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array> {
  if (stream === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/**
 * A signal aborted when the client goes away before its answer is written (the call is then
 * cancelled: its sandbox is killed rather than left running for nobody).
 */
export function clientSignal(c: Context): AbortSignal {
  const node = nodeBindings(c);
  if (node === undefined) return c.req.raw.signal;
  const controller = new AbortController();
  const { outgoing } = node;
  if (outgoing.destroyed) controller.abort();
  else {
    outgoing.once('close', () => {
      if (!outgoing.writableFinished) controller.abort();
    });
  }
  return controller.signal;
}
