// The pairing rules of the 2023 orchestrator's websockets (src/wikifunctions/socket-pairing.ts),
// with real sockets: a real HTTP server with the service's acceptor, real `ws` clients. Which
// socket goes with which request, when nothing is paired, and what is closed when.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createWikifunctionsSocketAcceptor } from '../../src/http/wikifunctions-socket.js';
import { originOf, SocketPairing } from '../../src/wikifunctions/socket-pairing.js';

const servers: Server[] = [];
const clients: WebSocket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(pairing: SocketPairing, maxFrameBytes = 1024): Promise<string> {
  const server = createServer();
  server.on('upgrade', createWikifunctionsSocketAcceptor(pairing, maxFrameBytes).upgrade);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

interface Client {
  readonly ws: WebSocket;
  readonly frames: string[];
  readonly closed: Promise<{ code: number; reason: string }>;
}

async function connect(url: string, from?: string): Promise<Client> {
  const ws = new WebSocket(url, from === undefined ? {} : { localAddress: from });
  clients.push(ws);
  const frames: string[] = [];
  ws.on('message', (data) => frames.push((data as Buffer).toString()));
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, closed };
}

const NEVER = new AbortController().signal;

describe('websocket pairing', () => {
  it('pairs one request with one socket of the same origin, whichever came first, and closes the socket when the request ends', async () => {
    const pairing = new SocketPairing();
    const url = await listen(pairing);
    const early = pairing.expect('127.0.0.1');
    const a = await connect(url);
    const linked = await early.socket(1000, NEVER);
    expect(linked.ok).toBe(true);
    early.release();
    expect(await a.closed).toEqual({ code: 1000, reason: 'the request ended' });

    const b = await connect(url);
    await expect.poll(() => pairing.held).toBe(1);
    const late = pairing.expect('127.0.0.1');
    expect((await late.socket(0, NEVER)).ok).toBe(true);
    late.release();
    await b.closed;
  });

  it('pairs nothing while two requests or two sockets of one origin wait, and pairs by elimination once one is gone', async () => {
    const pairing = new SocketPairing();
    const url = await listen(pairing);
    const first = pairing.expect('127.0.0.1');
    const second = pairing.expect('127.0.0.1');
    const a = await connect(url);
    await connect(url);
    await expect.poll(() => pairing.held).toBe(2);
    const refused = await first.socket(50, NEVER);
    expect(refused).toEqual({
      ok: false,
      why: '2 reentrant requests and 2 websockets from 127.0.0.1 wait to be paired, and the 2023 protocol says nothing that tells which socket is whose',
    });
    // The orchestrator answers one request and closes its socket: what is left is one of each.
    first.release();
    expect((await second.socket(50, NEVER)).ok).toBe(false);
    a.ws.close();
    await a.closed;
    const paired = await second.socket(1000, NEVER);
    expect(paired.ok).toBe(true);
    second.release();
  });

  it('lets an answer go once every request of the origin has a socket, paired or not', async () => {
    const pairing = new SocketPairing();
    const url = await listen(pairing);
    const first = pairing.expect('127.0.0.1');
    const second = pairing.expect('127.0.0.1');
    let accounted = false;
    // Waits (a minute at most) while the origin has fewer sockets than requests.
    void first.accountedFor(60_000).then(() => (accounted = true));
    await connect(url);
    await expect.poll(() => pairing.held).toBe(1);
    expect(accounted).toBe(false);
    await connect(url);
    await expect.poll(() => accounted).toBe(true);
    // Neither was paired: two of each.
    expect((await first.socket(0, NEVER)).ok).toBe(false);
    first.release();
    second.release();
  });

  it('keeps origins apart', async () => {
    const pairing = new SocketPairing();
    const url = await listen(pairing);
    const one = pairing.expect('127.0.0.1');
    const two = pairing.expect('127.0.0.2');
    await connect(url, '127.0.0.2');
    await connect(url, '127.0.0.1');
    const [p1, p2] = await Promise.all([one.socket(1000, NEVER), two.socket(1000, NEVER)]);
    expect(p1.ok && p2.ok).toBe(true);
    // Each got the socket from its own address: a call on one reaches only that client.
    expect(originOf('::ffff:127.0.0.2')).toBe('127.0.0.2');
    const none = pairing.expect('10.0.0.9');
    expect(await none.socket(20, NEVER)).toEqual({
      ok: false,
      why: 'no websocket came from 10.0.0.9 for this request (FUNCTION_EVALUATOR_WS)',
    });
    for (const t of [one, two, none]) t.release();
  });

  it('closes a socket no request claims within the pairing time (1008), and sockets beyond the cap at once (1013)', async () => {
    const pairing = new SocketPairing({ pairingMs: 100, maxSockets: 2 });
    const url = await listen(pairing);
    const orphan = await connect(url);
    expect(await orphan.closed).toEqual({ code: 1008, reason: 'no reentrant request to pair it with' });
    const held = [await connect(url), await connect(url)];
    const over = await connect(url);
    expect(await over.closed).toEqual({ code: 1013, reason: 'too many sockets held' });
    for (const c of held) c.ws.close();
    await Promise.all(held.map((c) => c.closed));
    await expect.poll(() => pairing.held).toBe(0);
  });

  it("a call abandoned (deadline) closes the socket, so a late answer is never read as the next call's", async () => {
    const pairing = new SocketPairing();
    const url = await listen(pairing);
    const ticket = pairing.expect('127.0.0.1');
    const client = await connect(url);
    const paired = await ticket.socket(1000, NEVER);
    if (!paired.ok) throw new Error(paired.why);
    const answer = await paired.link.call('call {"Z1K1":"Z7","Z7K1":"Z801"}\n', AbortSignal.timeout(50));
    expect(answer).toEqual({ ok: false, why: 'the call was abandoned' });
    expect(await client.closed).toEqual({ code: 1000, reason: 'the call was abandoned' });
    expect(client.frames).toEqual(['call {"Z1K1":"Z7","Z7K1":"Z801"}\n']);
    expect(await paired.link.call('call {}', NEVER)).toEqual({
      ok: false,
      why: 'the socket is closed: the call was abandoned',
    });
    ticket.release();
  });

  it('closes a socket whose frame is larger than the limit (1009) and fails its call', async () => {
    const pairing = new SocketPairing();
    const url = await listen(pairing, 64);
    const ticket = pairing.expect('127.0.0.1');
    const client = await connect(url);
    const paired = await ticket.socket(1000, NEVER);
    if (!paired.ok) throw new Error(paired.why);
    client.ws.on('message', () => client.ws.send('x'.repeat(65)));
    const answer = await paired.link.call('call {}', NEVER);
    expect(answer.ok).toBe(false);
    expect((await client.closed).code).toBe(1009);
    ticket.release();
  });
});
