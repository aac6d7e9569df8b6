// A language served by remote Polyeval evaluators (POLYEVAL_REMOTE_<ID>=http://…[,http://…]): the
// same split Wikifunctions runs, one evaluator deployment per language. The orchestrator sees an
// Executor; behind it each call is POSTed to /v1/evaluate of the evaluator with the fewest calls in
// flight. What the remote answers passes through: its result (guest failures included) and its
// limits as they were applied, and its problem+json failures with their type, detail and
// Retry-After. Only a failure to connect is retried (on another URL when there is one): once a
// request is delivered it is never sent twice. A remote that does not answer within the call's
// time limit plus POLYEVAL_REMOTE_TIMEOUT_MS is given up (the request is aborted, which cancels the
// call there) and the call fails with 502 upstream-failed.

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { PROBLEMS, type ProblemType, ServiceError } from '../errors.js';
import type {
  Call,
  Deployment,
  DeployOptions,
  ExecuteOptions,
  ExecutionResult,
  Executor,
  GuestError,
  Limits,
  Readiness,
} from '../executor/contract.js';
import { parseJson, stringifyJson } from '../executor/json-value.js';

/** The request id is forwarded as X-Request-Id, so that the remote's log lines correlate with ours. */
interface SendOptions extends ExecuteOptions {
  readonly deadlineMs: number;
}

export interface RemoteOptions {
  /** The language id sent to the remote. */
  readonly language: string;
  readonly urls: readonly string[];
  /** How long beyond the call's own time limit the remote may take (its queue wait included). */
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Extra attempts after a connection failure. */
  readonly retries: number;
  readonly maxInFlight: number;
  /** How often the remotes' /readyz is polled for readiness details (0: never). */
  readonly probeIntervalMs?: number;
  readonly log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: object) => void;
}

/** The result of a remote call, with the limits the remote applied. */
export type RemoteResult = ExecutionResult & { readonly limits?: Limits };

interface Endpoint {
  readonly url: URL;
  readonly agent: HttpAgent;
  inFlight: number;
  calls: number;
  connectFailures: number;
  lastProbe: { ready: boolean; at: string; error?: string } | undefined;
}

/** An error before the request reached the remote: safe to try again. */
class ConnectError extends Error {}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ECONNABORTED',
]);

function problemType(body: unknown): ProblemType | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const type = (body as { type?: unknown }).type;
  if (typeof type !== 'string') return undefined;
  const slug = type.slice(type.lastIndexOf('/') + 1);
  return Object.hasOwn(PROBLEMS, slug) ? (slug as ProblemType) : undefined;
}

export class RemoteExecutor implements Executor {
  private readonly endpoints: Endpoint[];
  private next = 0;
  private remoteVersion = 'remote';
  private probeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: RemoteOptions) {
    this.endpoints = options.urls.map((u) => {
      const url = new URL(u.endsWith('/') ? u : `${u}/`);
      const Agent = url.protocol === 'https:' ? HttpsAgent : HttpAgent;
      return {
        url,
        agent: new Agent({ keepAlive: true, maxSockets: options.maxInFlight, timeout: 60_000 }),
        inFlight: 0,
        calls: 0,
        connectFailures: 0,
        lastProbe: undefined,
      };
    });
  }

  get capacity(): number {
    return this.options.maxInFlight;
  }

  async start(): Promise<void> {
    // Never blocks start-up: an evaluator that is down now may be up by the first call.
    void this.probe();
    const every = this.options.probeIntervalMs ?? 5_000;
    if (every > 0) {
      this.probeTimer = setInterval(() => void this.probe(), every);
      this.probeTimer.unref();
    }
  }

  /** Remote languages do not gate this service's readiness: their evaluators have their own probes. */
  readiness(): Readiness {
    return {
      ready: !this.closed,
      details: {
        remote: true,
        endpoints: this.endpoints.map((e) => ({
          url: e.url.origin + e.url.pathname.replace(/\/$/, ''),
          inFlight: e.inFlight,
          calls: e.calls,
          connectFailures: e.connectFailures,
          ...(e.lastProbe === undefined ? {} : { probe: e.lastProbe }),
        })),
      },
    };
  }

  engineVersion(): string {
    return this.remoteVersion;
  }

  async execute(call: Call, options: ExecuteOptions = {}): Promise<RemoteResult> {
    const body = {
      language: this.options.language,
      function: call.function,
      args: call.args,
      limits: call.limits,
      ...(call.code === undefined ? {} : { code: call.code }),
      ...(call.module === undefined ? {} : { module: call.module }),
      ...(call.codec === undefined || call.codec === 'json' ? {} : { codec: call.codec }),
    };
    const answer = await this.send('v1/evaluate', stringifyJson(body), {
      ...options,
      deadlineMs: call.limits.timeoutMs + this.options.timeoutMs,
    });
    const result = answer.body as RemoteResult;
    if (
      answer.status === 200 &&
      typeof result === 'object' &&
      result !== null &&
      typeof result.ok === 'boolean'
    ) {
      return result;
    }
    throw this.passThrough(answer);
  }

  async deploy(code: string, options: DeployOptions = {}): Promise<Deployment | { error: GuestError }> {
    const answer = await this.send('v1/modules', stringifyJson({ language: this.options.language, code }), {
      ...options,
      deadlineMs: this.options.timeoutMs,
    });
    const body = answer.body as { ok?: boolean; id?: string; error?: GuestError } & Record<string, unknown>;
    if (answer.status === 201 && typeof body.id === 'string') {
      const { ok: _ok, id, language: _language, ...details } = body;
      return { id, details };
    }
    if (answer.status === 422 && body.error !== undefined) return { error: body.error };
    throw this.passThrough(answer);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.probeTimer);
    for (const e of this.endpoints) e.agent.destroy();
  }

  /** The remote's failure as ours: same problem type, detail and Retry-After. */
  private passThrough(answer: {
    status: number;
    body: unknown;
    retryAfter: string | undefined;
  }): ServiceError {
    const type = problemType(answer.body);
    const detail =
      typeof (answer.body as { detail?: unknown })?.detail === 'string'
        ? (answer.body as { detail: string }).detail
        : `The remote evaluator answered HTTP ${answer.status}`;
    const retry = answer.retryAfter === undefined ? Number.NaN : Number(answer.retryAfter);
    const {
      type: _t,
      title: _ti,
      status: _s,
      detail: _d,
      instance: _i,
      ...extra
    } = typeof answer.body === 'object' && answer.body !== null
      ? (answer.body as Record<string, unknown>)
      : {};
    return new ServiceError(type ?? 'upstream-failed', detail, {
      extra: { ...extra, upstreamStatus: answer.status },
      ...(Number.isFinite(retry) ? { retryAfterSeconds: retry } : {}),
    });
  }

  private pick(exclude: ReadonlySet<Endpoint>): Endpoint {
    const candidates = this.endpoints.filter((e) => !exclude.has(e));
    const pool = candidates.length > 0 ? candidates : this.endpoints;
    // Fewest calls in flight; ties rotate so that idle remotes share the work.
    const start = this.next++ % pool.length;
    let best = pool[start]!;
    for (let i = 1; i < pool.length; i++) {
      const e = pool[(start + i) % pool.length]!;
      if (e.inFlight < best.inFlight) best = e;
    }
    return best;
  }

  private async send(
    path: string,
    body: string,
    options: SendOptions,
  ): Promise<{ status: number; body: unknown; retryAfter: string | undefined }> {
    const tried = new Set<Endpoint>();
    let lastError: Error | undefined;
    for (let attempt = 0; attempt <= this.options.retries; attempt++) {
      if (options.signal?.aborted) break;
      const endpoint = this.pick(tried);
      tried.add(endpoint);
      endpoint.inFlight++;
      endpoint.calls++;
      try {
        return await this.attempt(endpoint, path, body, options);
      } catch (error) {
        if (!(error instanceof ConnectError)) throw error;
        endpoint.connectFailures++;
        lastError = error;
        this.options.log?.('warn', 'Cannot reach a remote evaluator', {
          remote: endpoint.url.origin,
          attempt: attempt + 1,
          error: error.message,
        });
        if (attempt < this.options.retries) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      } finally {
        endpoint.inFlight--;
      }
    }
    if (options.signal?.aborted) {
      throw new ServiceError('invalid-request', 'The client went away before the call was sent');
    }
    throw new ServiceError(
      'upstream-failed',
      `Cannot reach the ${this.options.language} evaluator after ${this.options.retries + 1} attempts: ${lastError?.message ?? 'unknown error'}`,
      { extra: { language: this.options.language } },
    );
  }

  private attempt(
    endpoint: Endpoint,
    path: string,
    body: string,
    options: SendOptions,
  ): Promise<{ status: number; body: unknown; retryAfter: string | undefined }> {
    const url = new URL(path, endpoint.url);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const { requestId } = options;
    return new Promise((resolve, reject) => {
      let settled = false;
      let connected = false;
      const done = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        clearTimeout(deadline);
        options.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const req = request(url, {
        method: 'POST',
        agent: endpoint.agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          accept: 'application/json',
          ...(requestId === undefined ? {} : { 'x-request-id': requestId }),
        },
      });
      const connectTimer = setTimeout(() => {
        if (connected) return;
        done(() => reject(new ConnectError(`connecting took over ${this.options.connectTimeoutMs} ms`)));
        req.destroy();
      }, this.options.connectTimeoutMs);
      const deadline = setTimeout(() => {
        done(() =>
          reject(
            new ServiceError(
              'upstream-failed',
              `The ${this.options.language} evaluator did not answer within ${options.deadlineMs} ms`,
              { extra: { language: this.options.language } },
            ),
          ),
        );
        req.destroy();
      }, options.deadlineMs);
      const onAbort = (): void => {
        // The caller went away: closing the request cancels the call on the remote too.
        done(() => reject(new ServiceError('invalid-request', 'The client went away during the call')));
        req.destroy();
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('socket', (socket) => {
        if (!socket.connecting) connected = true;
        else socket.once('connect', () => (connected = true));
      });
      req.on('error', (error: Error & { code?: string }) => {
        // Before the remote could have seen the request, or a kept-alive socket the remote had
        // just closed (the request never reached it): safe to retry. Anything else is not.
        const safe =
          !connected ||
          CONNECT_CODES.has(error.code ?? '') ||
          (req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE'));
        done(() =>
          reject(
            safe
              ? new ConnectError(`${error.code ?? error.message}`)
              : new ServiceError(
                  'upstream-failed',
                  `The ${this.options.language} evaluator failed during the call: ${error.code ?? error.message}`,
                  { extra: { language: this.options.language } },
                ),
          ),
        );
      });
      req.on('response', (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', () => {});
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = parseJson(text);
          } catch {
            // Not JSON (a proxy's error page): passed through as an upstream failure.
          }
          const retryAfter = response.headers['retry-after'];
          done(() =>
            resolve({
              status: response.statusCode ?? 0,
              body: parsed,
              retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
            }),
          );
        });
      });
      req.end(body);
    });
  }

  private async probe(): Promise<void> {
    await Promise.all(
      this.endpoints.map(async (endpoint) => {
        const at = new Date().toISOString();
        try {
          const ready = await fetch(new URL('readyz', endpoint.url), { signal: AbortSignal.timeout(2_000) });
          endpoint.lastProbe = { ready: ready.status === 200, at };
          await ready.body?.cancel();
          if (this.remoteVersion === 'remote') {
            const info = (await fetch(new URL('v1/languages', endpoint.url), {
              signal: AbortSignal.timeout(2_000),
            }).then((r) => r.json())) as { languages?: { id: string; engine?: { version?: string } }[] };
            const mine = info.languages?.find((l) => l.id === this.options.language);
            if (mine?.engine?.version !== undefined) this.remoteVersion = mine.engine.version;
          }
        } catch (error) {
          endpoint.lastProbe = { ready: false, at, error: (error as Error).message };
        }
      }),
    );
  }
}
