// A small stand-in for the Wikifunctions orchestrator's HTTP API (POST {zobject: Z7}), a real HTTP
// server, for reentrance tests (CI cannot run the real orchestrator). It answers Z801 (echo)
// itself, a few test functions with fixed answers, and sends the functions in `nested` to the
// Polyeval under test as the real orchestrator sends a function implemented in code (not
// reentrant).

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { encodeAvroRequest } from '../../src/wikifunctions/avro.js';
import { normalize, type ZNode } from '../../src/wikifunctions/zobject.js';
import { summarizeError } from '../wikifunctions/helpers.js';
import { type RunningServer, startServer } from './server.js';

export const str = (s: string) => ({ Z1K1: 'Z6', Z6K1: s });
const z22 = (value: unknown) => ({ Z1K1: 'Z22', Z22K1: value, Z22K2: 'Z24' });

/** A function evaluated by the Polyeval under test: its flat request, from the nested Z7. */
export type Nested = (z7: ZNode) => Record<string, unknown>;

export interface StandIn {
  readonly url: string;
  /** Every Z7 received, in normal form. */
  readonly received: ZNode[];
  /** Status codes of the nested evaluations, as they came back. */
  readonly nestedAnswers: number[];
  /** Where nested functions are evaluated (the Polyeval under test). */
  evaluator: string;
  close(): Promise<void>;
}

async function readJson(request: IncomingMessage): Promise<{ zobject: unknown }> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as { zobject: unknown };
}

/**
 * Z801: echo of Z801K1. Z10002: fails with an error. Z10003: an answer over 1 MiB. Z10004: never
 * answers. Anything in `nested`: evaluated by the Polyeval under test.
 */
export async function standIn(nested: Readonly<Record<string, Nested>> = {}): Promise<StandIn> {
  const received: ZNode[] = [];
  const nestedAnswers: number[] = [];
  const state = { evaluator: '' };
  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await readJson(request);
      const z7 = normalize(body.zobject);
      received.push(z7);
      const zid = (z7.Z7K1 as ZNode).Z9K1 as string;
      const answer = (value: unknown): void => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(value));
      };
      const evaluate = nested[zid];
      if (evaluate !== undefined) {
        const result = await fetch(`${state.evaluator}/1/v1/evaluate/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(evaluate(z7)),
        });
        const text = await result.text();
        nestedAnswers.push(result.status);
        if (response.destroyed) return;
        response.writeHead(result.status, { 'content-type': 'application/json' });
        response.end(text);
        return;
      }
      switch (zid) {
        case 'Z801':
          return answer(z22(z7.Z801K1));
        case 'Z10002':
          return answer({
            Z1K1: 'Z22',
            Z22K1: 'Z24',
            Z22K2: {
              Z1K1: { Z1K1: 'Z7', Z7K1: 'Z883', Z883K1: 'Z6', Z883K2: 'Z1' },
              K1: [
                { Z1K1: 'Z7', Z7K1: 'Z882', Z882K1: 'Z6', Z882K2: 'Z1' },
                {
                  Z1K1: { Z1K1: 'Z7', Z7K1: 'Z882', Z882K1: 'Z6', Z882K2: 'Z1' },
                  K1: 'errors',
                  K2: { Z1K1: 'Z5', Z5K1: 'Z500', Z5K2: { Z1K1: 'Z500', Z500K1: 'the stand-in says no' } },
                },
              ],
            },
          });
        case 'Z10003':
          return answer(z22(str('x'.repeat(1_100_000))));
        case 'Z10004':
          return; // never answers
        default:
          response.writeHead(404).end();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/1/v1/evaluate/`,
    received,
    nestedAnswers,
    get evaluator() {
      return state.evaluator;
    },
    set evaluator(url: string) {
      state.evaluator = url;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A stand-in orchestrator and the Polyeval under test pointed at each other, for one describe. */
export interface StandInServer {
  readonly orchestrator: StandIn;
  readonly server: RunningServer;
}

/**
 * Starts, in the enclosing describe's beforeAll, a stand-in (with `nested`) and a Polyeval with
 * `env` whose orchestrator is that stand-in (and the stand-in's evaluator that Polyeval); stops
 * both in its afterAll.
 */
export function withStandInServer(
  nested: Readonly<Record<string, Nested>>,
  env: Record<string, string>,
  timeoutMs: number,
): StandInServer {
  let orchestrator: StandIn | undefined;
  let server: RunningServer | undefined;
  beforeAll(async () => {
    orchestrator = await standIn(nested);
    server = await startServer({ ...env, POLYEVAL_WIKIFUNCTIONS_ORCHESTRATOR_URL: orchestrator.url });
    orchestrator.evaluator = server.url;
  }, timeoutMs);
  afterAll(async () => {
    await server?.close();
    await orchestrator?.close();
  });
  return {
    get orchestrator() {
      return orchestrator!;
    },
    get server() {
      return server!;
    },
  };
}

/** POSTs a flat evaluation request (JSON, or Avro 0.0.4) and reads the Z22 it answers. */
export async function evaluateFlat(server: RunningServer, body: unknown, avro = false) {
  const response = await fetch(`${server.url}/1/v1/evaluate/`, {
    method: 'POST',
    headers: { 'content-type': avro ? 'application/octet-stream' : 'application/json' },
    body: avro ? new Uint8Array(encodeAvroRequest('0.0.4', body as never)) : JSON.stringify(body),
  });
  const envelope = JSON.parse(await response.text()) as ZNode;
  return { status: response.status, envelope, value: envelope.Z22K1, error: summarizeError(envelope) };
}
