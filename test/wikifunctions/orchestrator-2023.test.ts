// The request bodies the real 2023 Wikifunctions orchestrator sent (captured byte for byte, see
// test/fixtures/wikifunctions/orchestrator-2023/README.md), sent unchanged to the real server
// with the orchestrator's own headers. Every one carries the orchestrator's broken remainingTime
// (about -1.8e12): each must still give the expected value, under both remainingTime policies.
// The 09-* captures call back into the orchestrator from Python (W.Call): here the service asks a
// stand-in of the orchestrator's HTTP API (a real HTTP server), which must receive the captured call.

import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorTypeOf } from '../../src/wikifunctions/envelope.js';
import { decodeRequest } from '../../src/wikifunctions/request.js';
import { normalize, type ZNode } from '../../src/wikifunctions/zobject.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { type StandIn, standIn } from '../helpers/stand-in-orchestrator.js';
import { languageId } from './e2e.js';
import { envelopeError, summarizeError, withoutZ1K1s } from './helpers.js';

const FOLDER = new URL('../fixtures/wikifunctions/orchestrator-2023/', import.meta.url);

interface Capture {
  readonly file: string;
  readonly headers: Record<string, string>;
  readonly avroVersion: string;
  readonly bodyLength: number;
  readonly bodyBase64: string;
  readonly expected: {
    readonly Z22K1: ZNode;
    readonly error?: boolean;
    readonly errorKeyPhrase?: string | null;
    /** The reentrant call the guest made (09-*), as the 2023 executor wrote it. */
    readonly reentrantCall?: ZNode;
  };
}

const captures: Capture[] = readdirSync(FOLDER)
  .filter((f) => f.endsWith('.request.json'))
  .sort()
  .map(
    (file) => ({ file, ...(JSON.parse(readFileSync(new URL(file, FOLDER), 'utf8')) as object) }) as Capture,
  );

const body = (c: Capture): Buffer => Buffer.from(c.bodyBase64, 'base64');

async function evaluate(server: RunningServer, c: Capture): Promise<{ status: number; envelope: ZNode }> {
  const response = await fetch(`${server.url}/1/v1/evaluate/`, {
    method: 'POST',
    headers: {
      'content-type': c.headers['content-type'] ?? 'application/octet-stream',
      'user-agent': c.headers['user-agent'] ?? '',
      accept: '*/*',
    },
    body: new Uint8Array(body(c)),
  });
  return { status: response.status, envelope: JSON.parse(await response.text()) as ZNode };
}

function checkExpected(c: Capture, status: number, envelope: ZNode): void {
  expect(status).toBe(200);
  if (c.expected.error === true) {
    expect(envelope.Z22K1).toEqual({ Z1K1: 'Z9', Z9K1: 'Z24' });
    const error = envelopeError(envelope);
    expect(error, 'an error in Z22K2').toBeDefined();
    expect(errorTypeOf(error!)).toBe('Z507');
    if (typeof c.expected.errorKeyPhrase === 'string')
      expect(summarizeError(envelope)?.text).toContain(c.expected.errorKeyPhrase);
    return;
  }
  expect(summarizeError(envelope)).toBeUndefined();
  expect(withoutZ1K1s(envelope.Z22K1)).toEqual(withoutZ1K1s(c.expected.Z22K1));
}

describe('the captures themselves', () => {
  it('are the ten bodies INDEX.md lists, each Avro 0.0.4 with the broken remainingTime', () => {
    expect(captures.map((c) => c.file.slice(0, 2))).toEqual([
      '01',
      '02',
      '03',
      '04',
      '05',
      '06',
      '07',
      '08',
      '09',
      '09',
    ]);
    for (const c of captures) {
      expect(body(c).length).toBe(c.bodyLength);
      expect(c.avroVersion).toBe('0.0.4');
      const request = decodeRequest(body(c), 'application/octet-stream');
      // fix1 is the capture with the orchestrator's value repaired (19000 ms).
      if (c.file.includes('fix1')) expect(request.remainingTime).toBe(19_000);
      else expect(request.remainingTime).toBeLessThan(-1e12);
    }
  });
});

for (const policy of ['ignore', 'honour'] as const) {
  describe(`sent to the real server (remainingTime: ${policy})`, () => {
    let server: RunningServer;
    let orchestrator: StandIn;
    beforeAll(async () => {
      orchestrator = await standIn();
      server = await startServer({
        POLYEVAL_LANGUAGES: `${languageId('javascript')},${languageId('python')}`,
        POLYEVAL_POOL_SIZE: '1',
        POLYEVAL_WIKIFUNCTIONS_ORCHESTRATOR_URL: orchestrator.url,
        ...(policy === 'ignore' ? {} : { POLYEVAL_WIKIFUNCTIONS_REMAINING_TIME: policy }),
      });
    }, 60_000);
    afterAll(async () => {
      await server?.close();
      await orchestrator?.close();
    });

    for (const c of captures) {
      it(c.file.replace('.request.json', ''), async () => {
        const before = orchestrator.received.length;
        const { status, envelope } = await evaluate(server, c);
        checkExpected(c, status, envelope);
        const call = c.expected.reentrantCall;
        // The call the reference executor wrote on its stdout, in normal form over the HTTP API.
        expect(orchestrator.received.slice(before)).toEqual(call === undefined ? [] : [normalize(call)]);
      });
    }
  });
}
