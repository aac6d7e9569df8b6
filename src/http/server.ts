// The Node HTTP server in front of the hono app, with the service's own limits: header size and
// header/request timeouts (slow clients are cut off with 408), keep-alive timeout, a cap on
// concurrent connections, and a body cap that refuses a declared Content-Length above the limit
// before the app sees the request (the routes' byte-counting reader, src/http/incoming.ts, caps
// chunked bodies and lying lengths as well). Also counts requests in progress, so that a
// graceful stop can wait for their answers to be written before closing connections. Upgrades go
// to the Wikifunctions websocket acceptor (the only websocket there is).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import type { GlobalConfig } from '../config.js';
import { PROBLEMS } from '../errors.js';
import type { WikifunctionsSocketAcceptor } from './wikifunctions-socket.js';

export interface HttpServer {
  readonly server: Server;
  /** Requests whose answer is not yet fully written. */
  readonly active: () => number;
  /** Stops accepting connections; resolves once every request in progress has been answered. */
  drain(): Promise<void>;
}

function refuseTooLarge(req: IncomingMessage, res: ServerResponse, limit: number): void {
  // The same fields as the app's problems (src/http/problem.ts), instance included.
  const instance = (req.url ?? '/').split('?')[0]!;
  const body = JSON.stringify({
    type: 'https://polyeval.dev/problems/body-too-large',
    title: PROBLEMS['body-too-large'].title,
    status: 413,
    detail: `The request body is larger than ${limit} bytes`,
    instance,
    limitBytes: limit,
  });
  // The body is not read: close the connection after answering.
  res.writeHead(413, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
}

/** POST /v1/modules with a binary body (Content-Type application/wasm). */
export function isModuleUpload(req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>): boolean {
  return (
    req.method === 'POST' &&
    (req.url ?? '').split('?')[0] === '/v1/modules' &&
    /^application\/wasm\b/i.test(req.headers['content-type'] ?? '')
  );
}

/** `sockets`: where websocket upgrades go (without it, upgrades are answered as Node does: closed). */
export function createHttpServer(
  app: Hono,
  g: GlobalConfig,
  sockets?: WikifunctionsSocketAcceptor,
): HttpServer {
  const listener = getRequestListener(app.fetch);
  let active = 0;
  let onIdle: (() => void) | undefined;
  const server = createServer(
    {
      requestTimeout: g.POLYEVAL_REQUEST_TIMEOUT_MS,
      headersTimeout: g.POLYEVAL_HEADERS_TIMEOUT_MS,
      // Node checks the two timeouts above only this often (30 s by default).
      connectionsCheckingInterval: Math.min(1_000, g.POLYEVAL_HEADERS_TIMEOUT_MS),
      maxHeaderSize: g.POLYEVAL_MAX_HEADER_BYTES,
      keepAliveTimeout: g.POLYEVAL_KEEP_ALIVE_TIMEOUT_MS,
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const declared = Number(req.headers['content-length'] ?? Number.NaN);
      // A binary module upload has its own (higher) limit; the route checks it again as it reads.
      const limit = isModuleUpload(req)
        ? Math.max(g.POLYEVAL_BODY_LIMIT_BYTES, g.POLYEVAL_MODULE_BODY_LIMIT_BYTES)
        : g.POLYEVAL_BODY_LIMIT_BYTES;
      if (declared > limit) {
        refuseTooLarge(req, res, limit);
        return;
      }
      active++;
      res.once('close', () => {
        active--;
        if (active === 0) onIdle?.();
      });
      void listener(req, res);
    },
  );
  server.maxConnections = g.POLYEVAL_MAX_CONNECTIONS;
  // The 2023 Wikifunctions orchestrator's reentrance websocket (src/http/wikifunctions-socket.ts).
  if (sockets !== undefined) server.on('upgrade', sockets.upgrade);
  return {
    server,
    active: () => active,
    drain() {
      // close() stops accepting and (Node ≥ 19) closes idle keep-alive connections; connections
      // with a request in progress are closed once it is answered (Connection: close).
      server.close();
      server.closeIdleConnections();
      sockets?.closeAll();
      return new Promise<void>((resolve) => {
        if (active === 0) return resolve();
        onIdle = () => {
          server.closeIdleConnections();
          resolve();
        };
      });
    },
  };
}
