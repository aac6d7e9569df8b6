// The websocket end the 2023 Wikifunctions orchestrator opens for a reentrant call
// (FUNCTION_EVALUATOR_WS): the handshake on any path (as the reference evaluator, which attached
// its server without a path), then the socket goes to the pairing (src/wikifunctions/
// socket-pairing.ts), which ties it to its reentrant request or closes it. Accepting matters even
// when the socket is never used: the orchestrator has no error listener on its socket, so any
// other answer to the upgrade (refused, 3xx, 4xx) kills the orchestrator process.
//
// The `ws` package does the protocol (handshake checks, masking, fragmentation, UTF-8 checks,
// ping/pong, close); here: no compression (the orchestrator offers permessage-deflate; declining it
// bounds what one frame costs to its size), frames capped at the call-out answer limit, and the
// remote address the pairing groups by.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { originOf, type SocketPairing } from '../wikifunctions/socket-pairing.js';

export interface WikifunctionsSocketAcceptor {
  /** The HTTP server's 'upgrade' listener. */
  readonly upgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Closes every socket (service shutdown). */
  closeAll(): void;
}

/** `maxFrameBytes`: the largest frame read (larger: the socket is closed with 1009). */
export function createWikifunctionsSocketAcceptor(
  pairing: SocketPairing,
  maxFrameBytes: number,
): WikifunctionsSocketAcceptor {
  const server = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: maxFrameBytes,
    clientTracking: false,
  });
  return {
    upgrade(request, socket, head) {
      // Until the handshake is done, a broken connection is only closed (never an uncaught error).
      socket.on('error', () => socket.destroy());
      server.handleUpgrade(request, socket, head, (ws) => {
        pairing.attach(ws, originOf(request.socket.remoteAddress));
      });
    },
    closeAll: () => pairing.closeAll(),
  };
}
