// The orchestrator: owns the enabled languages (manifest + executor + limits + admission), resolves
// a language name to one of them, clamps limits, admits or refuses calls, and routes them to the
// executor: a local one, or remote evaluators when POLYEVAL_REMOTE_<ID> is set (remote.ts). The
// HTTP layer (native and Wikifunctions wire formats) talks only to this. Every call that resolved a
// language is reported to the call listeners (metrics, the per-call log line) with its outcome code.

import { setMaxListeners } from 'node:events';
import { createRequire } from 'node:module';
import { type Config, envKey, type LanguageOverrides } from '../config.js';
import { ConfigError, ServiceError } from '../errors.js';
import type {
  Call,
  Deployment,
  DeployOptions,
  ExecutionResult,
  Executor,
  ExecutorContext,
  GuestError,
  LimitRequest,
  Limits,
  Readiness,
} from '../executor/contract.js';
import { safeGuestError } from '../executor/echo.js';
import type { JsonValue } from '../executor/json-value.js';
import type { Manifest } from '../executor/manifest.js';
import type { LanguageEntry } from '../executor/registry.js';
import type { Logger } from '../logger.js';
import type { RequestScope } from '../request-scope.js';
import { Admission } from './admission.js';
import { effectiveLimits, type LimitPolicy, limitPolicy } from './limits.js';
import { RemoteExecutor, type RemoteResult } from './remote.js';

export interface EvaluateInput {
  /** Language id or alias. */
  readonly language: string;
  readonly code?: string;
  readonly module?: string;
  readonly function: string;
  readonly args: readonly JsonValue[];
  readonly limits?: LimitRequest;
  readonly codec?: string;
  /** See Call.callOut. */
  readonly callOut?: SharedArrayBuffer;
  readonly signal?: AbortSignal;
  /** The HTTP request making the call: its id is forwarded to remote evaluators; listeners may record the call on it. */
  readonly scope?: RequestScope;
}

/** What listeners learn about every call that resolved a language (refused ones included). */
export interface CallEvent {
  /** The language id. */
  readonly language: string;
  /**
   * "OK", a guest error code (TIMEOUT…), "cancelled" when the client went away mid-call, or the
   * problem type of a refused or failed call (overloaded, shutting-down, upstream-failed…).
   */
  readonly outcome: string;
  /** Time in the orchestrator, queue included, in ms. */
  readonly durationMs: number;
  /** Time spent waiting for a slot, in ms. */
  readonly queueMs: number;
  /** The sandbox's own measurements, when the call ran. */
  readonly stats?: ExecutionResult['stats'];
  /** True when a remote evaluator ran the call. */
  readonly remote: boolean;
  /** The guest's error, when it failed (for logs; never its code or arguments). */
  readonly error?: GuestError;
}

export type CallListener = (event: CallEvent, input: EvaluateInput) => void;

export type EvaluateOutput = ExecutionResult & {
  /** The language id the call ran in. */
  readonly language: string;
  /** The limits the call ran with. */
  readonly limits: Limits;
};

export interface LanguageInfo {
  readonly id: string;
  readonly displayName: string;
  readonly aliases: readonly string[];
  readonly engine: {
    readonly name: string;
    readonly version: string;
    readonly package?: string;
    readonly packageVersion?: string;
  };
  readonly limits: { readonly defaults: Limits; readonly ceilings: Limits; readonly floors: Limits };
  readonly pool: {
    readonly capacity: number;
    readonly queueMax: number;
    readonly inFlight: number;
    readonly queued: number;
  };
  readonly codecs: readonly string[];
  readonly deploy: boolean;
  readonly ready: boolean;
  /** Base URLs of the remote evaluators that run this language, when it is routed away. */
  readonly remote?: readonly string[];
  /** Sandbox counters under fixed names, when the executor reports them (Readiness.counters). */
  readonly counters?: Readonly<Partial<Record<SandboxCounter, number>>>;
  readonly details: Readonly<Record<string, unknown>>;
}

export type SandboxCounter = 'spawned' | 'recycled' | 'killed' | 'crashed';

interface Language {
  readonly manifest: Manifest;
  readonly executor: Executor;
  readonly remote: readonly string[] | undefined;
  readonly started: Promise<void>;
  readonly policy: LimitPolicy;
  readonly admission: Admission;
  readonly packageVersion: string | undefined;
  startError: string | undefined;
}

const require = createRequire(import.meta.url);

function installedVersion(pkg: string | undefined): string | undefined {
  if (pkg === undefined) return undefined;
  try {
    return (require(`${pkg}/package.json`) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** What an executor learns of the request behind a call: its id, for remote evaluators' logs. */
/** What the operator's configuration gives a language: its overrides, limit policy and pool size. */
export function languagePlan(
  manifest: Manifest,
  config: Config,
): { overrides: LanguageOverrides; policy: LimitPolicy; poolSize: number } {
  const overrides = config.language(manifest.id);
  return {
    overrides,
    policy: limitPolicy(manifest, overrides, config.global),
    poolSize: overrides.poolSize ?? config.global.POLYEVAL_POOL_SIZE,
  };
}

function forwarded(scope: RequestScope | undefined): DeployOptions {
  return scope === undefined ? {} : { requestId: scope.id };
}

export class Orchestrator {
  private readonly byName = new Map<string, Language>();
  private readonly languages: Language[] = [];
  private readonly listeners = new Set<CallListener>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Aborted when shutdown gives up waiting: cancels every call still running. */
  private readonly shutdown = unboundedController();
  private closing = false;

  private constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {}

  /**
   * Loads the executors of the enabled languages and starts warming them in the background. The
   * returned orchestrator answers at once; readiness() says when every executor is warm.
   */
  static async create(config: Config, entries: readonly LanguageEntry[], log: Logger): Promise<Orchestrator> {
    const orchestrator = new Orchestrator(config, log);
    const wanted = config.global.POLYEVAL_LANGUAGES.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    for (const id of wanted) {
      if (!entries.some((e) => e.manifest.id === id)) {
        throw new ConfigError(
          `POLYEVAL_LANGUAGES names "${id}", but there is no interpreters/${id}/manifest.json`,
        );
      }
    }
    for (const key of config.remoteKeys ?? []) {
      const entry = entries.find((e) => envKey(e.manifest.id) === key);
      if (entry === undefined) {
        throw new ConfigError(`POLYEVAL_REMOTE_${key} names no language folder under interpreters/`);
      }
    }
    for (const entry of entries) {
      if (wanted.length > 0 && !wanted.includes(entry.manifest.id)) continue;
      await orchestrator.add(entry);
    }
    return orchestrator;
  }

  /**
   * Loads and builds a language's executor. A failure here (a bad POLYEVAL_<ID>_* setting, a
   * missing engine) is a boot failure: it stops the service before it listens, naming the language.
   */
  private static async load(entry: LanguageEntry, context: ExecutorContext): Promise<Executor> {
    try {
      return await (await entry.loadFactory())(context);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const failure = new ConfigError(`Cannot start language "${entry.manifest.id}": ${message}`);
      failure.cause = error;
      throw failure;
    }
  }

  /** Calls `listener` after every call that resolved a language; returns the unsubscribe function. */
  onCall(listener: CallListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when every enabled executor has started; rejects with the first start failure. */
  async whenStarted(): Promise<void> {
    await Promise.all(this.languages.map((l) => l.started));
  }

  private async add(entry: LanguageEntry): Promise<void> {
    const { manifest } = entry;
    const { overrides, policy, poolSize } = languagePlan(manifest, this.config);
    const log = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: object): void =>
      this.log[level](message, { language: manifest.id, ...fields });
    const g = this.config.global;
    // A remote language never loads its engine here.
    const executor: Executor =
      overrides.remote !== undefined
        ? new RemoteExecutor({
            language: manifest.id,
            urls: overrides.remote,
            timeoutMs: g.POLYEVAL_REMOTE_TIMEOUT_MS,
            connectTimeoutMs: g.POLYEVAL_REMOTE_CONNECT_TIMEOUT_MS,
            retries: g.POLYEVAL_REMOTE_RETRIES,
            maxInFlight: g.POLYEVAL_REMOTE_MAX_IN_FLIGHT,
            log,
          })
        : await Orchestrator.load(entry, {
            manifest,
            languageDir: entry.sourceDir,
            poolSize,
            settings: overrides.settings,
            ceilings: policy.ceilings,
            log,
          });
    const started = performance.now();
    const starting = executor.start();
    const language: Language = {
      manifest,
      executor,
      remote: overrides.remote,
      started: starting,
      policy,
      admission: new Admission(manifest.id, {
        capacity: executor.capacity,
        queueMax: overrides.queueMax ?? this.config.global.POLYEVAL_QUEUE_MAX,
        queueTimeoutMs: this.config.global.POLYEVAL_QUEUE_TIMEOUT_MS,
      }),
      packageVersion: installedVersion(manifest.engine.package),
      startError: undefined,
    };
    this.languages.push(language);
    for (const name of [manifest.id, ...manifest.aliases]) this.byName.set(name, language);
    starting.then(
      () =>
        this.log.info(language.remote === undefined ? 'Language ready' : 'Language routed to remote', {
          language: manifest.id,
          ms: Math.round(performance.now() - started),
          ...(language.remote === undefined ? {} : { remote: language.remote }),
        }),
      (error: unknown) => {
        language.startError = error instanceof Error ? error.message : String(error);
        this.log.error('Language failed to start', { language: manifest.id, error: language.startError });
      },
    );
  }

  /** Resolves an id or alias to an enabled language's manifest. */
  resolve(name: string): Manifest | undefined {
    return this.byName.get(name.toLowerCase())?.manifest;
  }

  /** Every enabled language's manifest. */
  manifests(): Manifest[] {
    return this.languages.map((l) => l.manifest);
  }

  private get(name: string): Language {
    const language = this.byName.get(name.toLowerCase());
    if (language === undefined) {
      const known = this.languages.map((l) => l.manifest.id).join(', ');
      throw new ServiceError(
        'unknown-language',
        `Unknown or disabled language "${name}"; enabled: ${known}`,
        {
          extra: { language: name },
        },
      );
    }
    return language;
  }

  async evaluate(input: EvaluateInput): Promise<EvaluateOutput> {
    const language = this.get(input.language);
    const { manifest } = language;
    if (input.codec !== undefined && input.codec !== 'json' && !manifest.codecs.includes(input.codec)) {
      throw new ServiceError(
        'invalid-request',
        `Language "${manifest.id}" does not support the "${input.codec}" codec`,
      );
    }
    if (input.module !== undefined && language.executor.deploy === undefined) {
      throw new ServiceError(
        'invalid-request',
        `Language "${manifest.id}" does not support deployed modules`,
      );
    }
    const limits = effectiveLimits(language.policy, input.limits, `"${manifest.id}"`);
    const call: Call = {
      function: input.function,
      args: input.args,
      limits,
      ...(input.code === undefined ? {} : { code: input.code }),
      ...(input.module === undefined ? {} : { module: input.module }),
      ...(input.codec === undefined ? {} : { codec: input.codec }),
      ...(input.callOut === undefined ? {} : { callOut: input.callOut }),
    };
    const started = performance.now();
    let admitted = started;
    const report = (outcome: string, result?: ExecutionResult): void => {
      if (this.listeners.size === 0) return;
      const now = performance.now();
      const event: CallEvent = {
        language: manifest.id,
        outcome,
        durationMs: now - started,
        queueMs: (admitted === started && result === undefined ? now : admitted) - started,
        remote: language.remote !== undefined,
        ...(result === undefined ? {} : { stats: result.stats }),
        ...(result === undefined || result.ok ? {} : { error: result.error }),
      };
      for (const listener of this.listeners) {
        try {
          listener(event, input);
        } catch (error) {
          this.log.error('A call listener failed', { error: (error as Error).message });
        }
      }
    };
    if (language.startError !== undefined) {
      report('language-unavailable');
      throw unavailable(language);
    }
    if (this.closing) {
      report('shutting-down');
      throw shuttingDown();
    }
    // The call is cancelled when its client goes away, or when shutdown stops waiting for it. (A
    // per-call controller with listeners removed afterwards, rather than AbortSignal.any(), which
    // keeps every call's signal reachable from the long-lived shutdown signal.)
    const cancel = new AbortController();
    const abort = (): void => cancel.abort();
    if (input.signal?.aborted || this.shutdown.signal.aborted) cancel.abort();
    input.signal?.addEventListener('abort', abort, { once: true });
    this.shutdown.signal.addEventListener('abort', abort, { once: true });
    const signal = cancel.signal;
    const running = language.admission.run(() => {
      admitted = performance.now();
      // Gone before a slot was free: do not start a sandbox for nobody.
      if (signal.aborted) {
        return Promise.reject(
          new ServiceError('invalid-request', 'The call was cancelled before it started'),
        );
      }
      return language.executor.execute(call, {
        signal,
        ...forwarded(input.scope),
      });
    }, signal);
    this.inFlight.add(running);
    let result: RemoteResult;
    try {
      result = safeResult(await running);
    } catch (error) {
      const failure =
        error instanceof ServiceError
          ? this.shutdown.signal.aborted && !(input.signal?.aborted ?? false)
            ? shuttingDown()
            : error
          : // A call that waited for a language whose start then failed: say which and why.
            language.startError !== undefined
            ? unavailable(language)
            : error;
      report(
        input.signal?.aborted ? 'cancelled' : failure instanceof ServiceError ? failure.problem : 'internal',
      );
      throw failure;
    } finally {
      this.inFlight.delete(running);
      input.signal?.removeEventListener('abort', abort);
      this.shutdown.signal.removeEventListener('abort', abort);
    }
    if (this.shutdown.signal.aborted && !(input.signal?.aborted ?? false)) {
      // Cancelled by shutdown, not by the guest: say so, so that the client retries elsewhere.
      report('shutting-down', result);
      throw shuttingDown('The call was cancelled: the service is shutting down');
    }
    // A call whose client went away was killed for that reason, not for anything the guest did.
    report(input.signal?.aborted ? 'cancelled' : result.ok ? 'OK' : result.error.code, result);
    return {
      ...result,
      stats: roundedStats(result.stats),
      language: manifest.id,
      limits: result.limits ?? limits,
    };
  }

  /** Deploys a module for a language that supports it (see Executor.deploy). */
  async deploy(
    languageName: string,
    code: string,
    scope?: RequestScope,
  ): Promise<Deployment | { error: GuestError }> {
    const language = this.get(languageName);
    if (language.startError !== undefined) throw unavailable(language);
    if (language.executor.deploy === undefined) {
      throw new ServiceError(
        'invalid-request',
        `Language "${language.manifest.id}" does not support deployed modules`,
      );
    }
    const deployed = await language.executor.deploy(code, forwarded(scope));
    return 'error' in deployed ? { error: safeGuestError(deployed.error) } : deployed;
  }

  info(): LanguageInfo[] {
    return this.languages.map((l): LanguageInfo => {
      const readiness = this.languageReadiness(l);
      const counters = (readiness as { counters?: LanguageInfo['counters'] }).counters;
      return {
        id: l.manifest.id,
        displayName: l.manifest.displayName,
        aliases: l.manifest.aliases,
        engine: {
          name: l.manifest.engine.name,
          version: l.executor.engineVersion(),
          ...(l.manifest.engine.package === undefined ? {} : { package: l.manifest.engine.package }),
          ...(l.packageVersion === undefined ? {} : { packageVersion: l.packageVersion }),
        },
        limits: { defaults: l.policy.defaults, ceilings: l.policy.ceilings, floors: l.policy.floors },
        pool: {
          capacity: l.executor.capacity,
          queueMax: this.config.language(l.manifest.id).queueMax ?? this.config.global.POLYEVAL_QUEUE_MAX,
          inFlight: l.admission.inFlight,
          queued: l.admission.queued,
        },
        codecs: ['json', ...l.manifest.codecs],
        deploy: l.executor.deploy !== undefined,
        ready: readiness.ready,
        ...(l.remote === undefined ? {} : { remote: l.remote }),
        // Forward-compatible: executors may report fixed-name counters beside their details.
        ...(counters === undefined ? {} : { counters }),
        details: readiness.details,
      };
    });
  }

  private languageReadiness(language: Language): Readiness {
    if (language.startError !== undefined) {
      return { ready: false, details: { startError: language.startError } };
    }
    return language.executor.readiness();
  }

  /**
   * Ready when every enabled local executor is warm. Remote languages are listed but do not gate
   * readiness: their evaluators have their own probes, and one evaluator deployment being down
   * must not take the other languages out of service.
   */
  readiness(): { ready: boolean; languages: Record<string, Readiness> } {
    const languages: Record<string, Readiness> = {};
    for (const l of this.languages) languages[l.manifest.id] = this.languageReadiness(l);
    const ready =
      !this.closing &&
      this.languages.length > 0 &&
      this.languages.every((l) => l.remote !== undefined || languages[l.manifest.id]!.ready);
    return { ready, languages };
  }

  /** Calls admitted or waiting right now, over every language. */
  get callsInFlight(): number {
    return this.inFlight.size;
  }

  /**
   * Graceful stop: refuses new calls (503 shutting-down), lets calls in flight — running or
   * waiting in the queue, both were accepted — finish for up to `graceMs` (default: as long as
   * they take, each bounded by its own time limit), then refuses those still waiting and cancels
   * those still running (their callers get 503 shutting-down) and stops the engines.
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    this.closing = true;
    const reason = shuttingDown();
    for (const l of this.languages) l.admission.close(reason);
    const settled = (): Promise<unknown> =>
      Promise.allSettled([...this.inFlight]).then(() => (this.inFlight.size > 0 ? settled() : undefined));
    if (options.graceMs === undefined) await settled();
    else {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((resolve) => {
        timer = setTimeout(() => resolve('expired'), options.graceMs);
      });
      const outcome = await Promise.race([settled(), expired]);
      clearTimeout(timer);
      if (outcome === 'expired' && this.inFlight.size > 0) {
        this.log.warn('Cancelling calls still running at the end of the shutdown grace period', {
          calls: this.inFlight.size,
          graceMs: options.graceMs,
        });
        for (const l of this.languages) l.admission.refuseWaiting(reason);
        this.shutdown.abort();
        await settled();
      }
    }
    await Promise.all(this.languages.map((l) => l.executor.close()));
  }
}

/**
 * An AbortController whose signal takes one listener per call in flight: without raising the
 * limit, Node warns of a leak (MaxListenersExceededWarning) from the 11th concurrent call.
 */
function unboundedController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * Stats as answered: times to the microsecond (3 decimals of a ms), which is what the clocks
 * behind them resolve; 8.566297000000304 ms said nothing the first three decimals do not.
 */
function roundedStats(stats: ExecutionResult['stats']): ExecutionResult['stats'] {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(stats)) {
    out[key] = Number.isInteger(value) ? value : Math.round(value * 1000) / 1000;
  }
  return out as ExecutionResult['stats'];
}

/** 503 for a language whose executor failed to start: the answer names the language and the reason. */
function unavailable(language: Language): ServiceError {
  return new ServiceError(
    'language-unavailable',
    `Language "${language.manifest.id}" is unavailable: it failed to start: ${language.startError ?? 'unknown reason'}`,
    { extra: { language: language.manifest.id }, retryAfterSeconds: 30 },
  );
}

function shuttingDown(detail = 'The service is shutting down'): ServiceError {
  return new ServiceError('shutting-down', detail, { retryAfterSeconds: 1 });
}

/**
 * A result whose error texts are safe to send and to log: engines quote the code and the call in
 * their messages (a 3 MB import name, a NUL of a Lua string), and every result passes here.
 */
function safeResult<T extends ExecutionResult>(result: T): T {
  if (result.ok) return result;
  const error = safeGuestError(result.error);
  return error === result.error ? result : { ...result, error };
}
