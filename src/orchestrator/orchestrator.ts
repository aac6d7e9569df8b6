// The orchestrator: owns the enabled languages (manifest + executor + limits + admission), resolves
// a language name to one of them, clamps limits, admits or refuses calls, and routes them to the
// executor. The HTTP layer (native and Wikifunctions wire formats) talks only to this.

import { createRequire } from 'node:module';
import type { Config } from '../config.js';
import { ConfigError, ServiceError } from '../errors.js';
import type {
  Call,
  Deployment,
  ExecutionResult,
  Executor,
  GuestError,
  LimitRequest,
  Limits,
  Readiness,
} from '../executor/contract.js';
import type { JsonValue } from '../executor/json-value.js';
import type { Manifest } from '../executor/manifest.js';
import type { LanguageEntry } from '../executor/registry.js';
import type { Logger } from '../logger.js';
import { Admission } from './admission.js';
import { effectiveLimits, type LimitPolicy, limitPolicy } from './limits.js';

export interface EvaluateInput {
  /** Language id or alias. */
  readonly language: string;
  readonly code?: string;
  readonly module?: string;
  readonly function: string;
  readonly args: readonly JsonValue[];
  readonly limits?: LimitRequest;
  readonly codec?: string;
  readonly signal?: AbortSignal;
}

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
  readonly limits: { readonly defaults: Limits; readonly ceilings: Limits };
  readonly pool: {
    readonly capacity: number;
    readonly queueMax: number;
    readonly inFlight: number;
    readonly queued: number;
  };
  readonly codecs: readonly string[];
  readonly deploy: boolean;
  readonly ready: boolean;
  readonly details: Readonly<Record<string, unknown>>;
}

interface Language {
  readonly manifest: Manifest;
  readonly executor: Executor;
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

export class Orchestrator {
  private readonly byName = new Map<string, Language>();
  private readonly languages: Language[] = [];
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
    for (const entry of entries) {
      if (wanted.length > 0 && !wanted.includes(entry.manifest.id)) continue;
      await orchestrator.add(entry);
    }
    return orchestrator;
  }

  private async add(entry: LanguageEntry): Promise<void> {
    const { manifest } = entry;
    const overrides = this.config.language(manifest.id);
    const policy = limitPolicy(manifest, overrides, this.config.global);
    const poolSize = overrides.poolSize ?? this.config.global.POLYEVAL_POOL_SIZE;
    const factory = await entry.loadFactory();
    const executor = await factory({
      manifest,
      languageDir: entry.sourceDir,
      poolSize,
      settings: overrides.settings,
      ceilings: policy.ceilings,
      log: (level, message, fields) => this.log[level](message, { language: manifest.id, ...fields }),
    });
    const language: Language = {
      manifest,
      executor,
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
    const started = performance.now();
    executor.start().then(
      () =>
        this.log.info('Language ready', {
          language: manifest.id,
          ms: Math.round(performance.now() - started),
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
    if (this.closing)
      throw new ServiceError('shutting-down', 'The service is shutting down', { retryAfterSeconds: 1 });
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
    const limits = effectiveLimits(language.policy, input.limits);
    const call: Call = {
      function: input.function,
      args: input.args,
      limits,
      ...(input.code === undefined ? {} : { code: input.code }),
      ...(input.module === undefined ? {} : { module: input.module }),
      ...(input.codec === undefined ? {} : { codec: input.codec }),
    };
    const result = await language.admission.run(
      () => language.executor.execute(call, input.signal === undefined ? {} : { signal: input.signal }),
      input.signal,
    );
    return { ...result, language: manifest.id, limits };
  }

  /** Deploys a module for a language that supports it (see Executor.deploy). */
  async deploy(languageName: string, code: string): Promise<Deployment | { error: GuestError }> {
    const language = this.get(languageName);
    if (language.executor.deploy === undefined) {
      throw new ServiceError(
        'invalid-request',
        `Language "${language.manifest.id}" does not support deployed modules`,
      );
    }
    return language.executor.deploy(code);
  }

  info(): LanguageInfo[] {
    return this.languages.map((l) => {
      const readiness = this.languageReadiness(l);
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
        limits: { defaults: l.policy.defaults, ceilings: l.policy.ceilings },
        pool: {
          capacity: l.executor.capacity,
          queueMax: this.config.language(l.manifest.id).queueMax ?? this.config.global.POLYEVAL_QUEUE_MAX,
          inFlight: l.admission.inFlight,
          queued: l.admission.queued,
        },
        codecs: ['json', ...l.manifest.codecs],
        deploy: l.executor.deploy !== undefined,
        ready: readiness.ready,
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

  /** Ready when every enabled executor is warm. */
  readiness(): { ready: boolean; languages: Record<string, Readiness> } {
    const languages: Record<string, Readiness> = {};
    for (const l of this.languages) languages[l.manifest.id] = this.languageReadiness(l);
    const ready =
      !this.closing && this.languages.length > 0 && Object.values(languages).every((r) => r.ready);
    return { ready, languages };
  }

  /** Refuses new calls; lets in-flight ones finish (bounded by their own time limits), then stops engines. */
  async close(): Promise<void> {
    this.closing = true;
    const reason = new ServiceError('shutting-down', 'The service is shutting down', {
      retryAfterSeconds: 1,
    });
    for (const l of this.languages) l.admission.close(reason);
    await Promise.all(this.languages.map((l) => l.executor.close()));
  }
}
