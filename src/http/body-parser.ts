// Parsing request bodies without holding the HTTP thread. A small body (the common case: a call is
// a few hundred bytes) is parsed right here, where a worker round trip would cost more than the
// parse. A large one goes to one worker thread, which decodes, scans against the bounds and
// parses; only the result comes back, as a structured clone whose size the bounds keep small
// (REQUEST_BOUNDS: 100k values, 10k keys per object). Measured on this 2-core machine: an 8 MiB
// body of big integers held the thread ~0.5-1 s before, and a body that stays under the bounds
// still costs tens of ms to scan and parse (whitespace, dense escapes, many big integers): that is
// the worker's time now, never /livez's. The worker is started with the routes (so that a
// server's thread count does not change under load), unref'd (it never keeps a process alive),
// and replaced if it dies; a job it was running fails with an internal error.

import { Worker } from 'node:worker_threads';
import { JsonLimitError, type JsonValue, parseJson, REQUEST_BOUNDS } from '../executor/json-value.js';
import { runnableSibling } from '../paths.js';
import { decodeRequest, type EvaluationRequest, RequestError } from '../wikifunctions/request.js';
import type { ZNode } from '../wikifunctions/zobject.js';

/** Bodies up to this size are parsed on the HTTP thread (at most ~1 ms, even for the worst shapes). */
export const INLINE_PARSE_BYTES = 64 * 1024;

/** What the worker is asked: parse JSON, or decode a Wikifunctions request. */
export type ParseJob =
  | { readonly id: number; readonly kind: 'json'; readonly body: Uint8Array }
  | {
      readonly id: number;
      readonly kind: 'wikifunctions';
      readonly body: Uint8Array;
      readonly contentType?: string;
    };

/**
 * A result crosses the thread boundary as text (see toTransferText), an error as its class name
 * and what the main thread needs to rebuild it.
 */
export type ParseAnswer =
  | { readonly id: number; readonly ok: true; readonly text: string }
  | {
      readonly id: number;
      readonly ok: false;
      readonly name: string;
      readonly message: string;
      readonly z5?: ZNode;
    };

/** Not fatal: invalid UTF-8 becomes U+FFFD (and then usually a JSON error). Strips a BOM. */
const UTF8 = new TextDecoder('utf-8', { fatal: false });

/** The worker's side, also used inline for small bodies. */
export function runParseJob(job: ParseJob): unknown {
  if (job.kind === 'json') return parseJson(UTF8.decode(job.body), REQUEST_BOUNDS);
  return decodeRequest(job.body, job.contentType);
}

// ---------------------------------------------------------------------------------------------
// The way back. A structured clone would be simplest, but V8's serializer recurses: it overflows
// the stack near 2,000 levels, and a Wikifunctions list of n items is n levels deep (the body
// bounds allow 10,000). So the worker writes the value as tagged JSON text (bigints as
// "\u0000n<digits>", strings that start with NUL with one more, as json-value.ts does) without
// recursion, and this thread reads it with JSON.parse, which does not recurse either, then
// untags in a loop. The text is at most about the body's size, and its structure is within the
// bounds, so reading it costs what parsing a bounded body costs (a few ms at 8 MiB).

const NUL = '\u0000';

/** `value` (plain JSON values and bigints) as tagged JSON text, written without recursion. */
export function toTransferText(value: unknown): string {
  const out: string[] = [];
  const raw = (text: string): { raw: string } => ({ raw: text });
  const stack: ({ raw: string } | { value: unknown })[] = [{ value }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if ('raw' in item) {
      out.push(item.raw);
      continue;
    }
    const v = item.value;
    if (typeof v === 'bigint') out.push(JSON.stringify(`${NUL}n${v}`));
    else if (typeof v === 'string') out.push(JSON.stringify(v.startsWith(NUL) ? NUL + v : v));
    else if (v === null || typeof v !== 'object') out.push(JSON.stringify(v) ?? 'null');
    else if (Array.isArray(v)) {
      out.push('[');
      stack.push(raw(']'));
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ value: v[i] === undefined ? null : v[i] });
        if (i > 0) stack.push(raw(','));
      }
    } else {
      const record = v as Record<string, unknown>;
      const keys = Object.keys(record).filter((k) => record[k] !== undefined);
      out.push('{');
      stack.push(raw('}'));
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push({ value: record[keys[i]!] }, raw(`${JSON.stringify(keys[i])}:`));
        if (i > 0) stack.push(raw(','));
      }
    }
  }
  return out.join('');
}

/** The reverse of toTransferText, without recursion. */
export function fromTransferText(text: string): unknown {
  const untag = (s: string): unknown => (s[1] === 'n' ? BigInt(s.slice(2)) : s.slice(1));
  const root: unknown = JSON.parse(text);
  if (!text.includes('\\u0000')) return root;
  if (typeof root === 'string') return root.startsWith(NUL) ? untag(root) : root;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as Record<string, unknown>;
    for (const key of Object.keys(node)) {
      const v = node[key];
      if (typeof v === 'string') {
        if (v.startsWith(NUL)) node[key] = untag(v);
      } else if (v !== null && typeof v === 'object') stack.push(v);
    }
  }
  return root;
}

/** Rebuilds an error the worker reported as the class the routes expect. */
function rebuild(answer: Extract<ParseAnswer, { ok: false }>): Error {
  if (answer.name === 'RequestError' && answer.z5 !== undefined)
    return new RequestError(answer.z5, answer.message);
  if (answer.name === 'JsonLimitError') return new JsonLimitError(answer.message);
  if (answer.name === 'SyntaxError') return new SyntaxError(answer.message);
  return new Error(`Cannot parse the request body: ${answer.message}`);
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * The parser thread starts with the first large body, stops after this long with no large body
 * (~12-16 MiB of idle RSS: its isolate), and starts again with the next one (its start runs off
 * the HTTP thread; the body waits for it, ~30 ms).
 */
const PARSER_IDLE_MS = 30_000;

class BodyParser {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      const worker = this.worker;
      if (worker === undefined || this.pending.size > 0) return;
      this.worker = undefined;
      void worker.terminate();
    }, PARSER_IDLE_MS);
    this.idleTimer.unref();
  }

  start(): void {
    if (this.worker !== undefined) return;
    const worker = new Worker(runnableSibling(import.meta.url, 'body-parser-worker'), {
      // The bounds keep a job small; this only stops a runaway from growing the service's heap.
      resourceLimits: { maxOldGenerationSizeMb: 512 },
    });
    worker.unref();
    worker.on('message', (answer: ParseAnswer) => {
      const job = this.pending.get(answer.id);
      if (job === undefined) return;
      this.pending.delete(answer.id);
      if (this.pending.size === 0) this.armIdle();
      if (!answer.ok) job.reject(rebuild(answer));
      else {
        try {
          job.resolve(fromTransferText(answer.text));
        } catch (error) {
          job.reject(error as Error);
        }
      }
    });
    const lost = (reason: string): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const job of this.pending.values())
        job.reject(new Error(`Cannot parse the request body: ${reason}`));
      this.pending.clear();
    };
    worker.on('error', (error) => lost(`the parser thread failed (${error.message})`));
    worker.on('exit', (code) => lost(`the parser thread exited with code ${code}`));
    this.worker = worker;
    this.armIdle();
  }

  run(job: Omit<ParseJob, 'id'>): Promise<unknown> {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.start();
    const id = this.nextId++;
    // A transferable copy: the bytes read from the socket may be a view into a larger buffer.
    const body = new Uint8Array(job.body);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker!.postMessage({ ...job, id, body } as ParseJob, [body.buffer]);
    });
  }
}

const parser = new BodyParser();

/**
 * Parses a JSON body (lossless integers, REQUEST_BOUNDS).
 * @throws SyntaxError, JsonLimitError
 */
export async function parseJsonBody(body: Uint8Array): Promise<JsonValue> {
  if (body.byteLength <= INLINE_PARSE_BYTES) return runParseJob({ id: 0, kind: 'json', body }) as JsonValue;
  return (await parser.run({ kind: 'json', body })) as JsonValue;
}

/**
 * Decodes a Wikifunctions request body (JSON or Avro).
 * @throws RequestError
 */
export async function decodeWikifunctionsBody(
  body: Uint8Array,
  contentType: string | undefined,
): Promise<EvaluationRequest> {
  const job = { kind: 'wikifunctions' as const, body, ...(contentType === undefined ? {} : { contentType }) };
  if (body.byteLength <= INLINE_PARSE_BYTES) return runParseJob({ id: 0, ...job }) as EvaluationRequest;
  return (await parser.run(job)) as EvaluationRequest;
}
