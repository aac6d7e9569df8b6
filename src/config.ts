// Service configuration: read once from the environment at boot (POLYEVAL_* variables and PORT),
// validated, frozen. A bad value stops the service with a message naming the variable.
// Per-language variables are POLYEVAL_<ID>_<NAME> where <ID> is the language id upper-cased with
// dashes as underscores; the core reads the limit, pool and queue ones and hands the rest to the
// language's executor as `settings`. docs/configuration.md is generated from CONFIG_VARIABLES.

import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import type { Limits } from './executor/contract.js';

const int = (min: number) => z.coerce.number().int().min(min);

/** Every global variable: name, schema, default and description. The single source for docs. */
export const CONFIG_VARIABLES = {
  PORT: { schema: int(0).max(65535), default: 6927, doc: 'TCP port to listen on (0 picks a free port).' },
  POLYEVAL_HOST: { schema: z.string().min(1), default: '0.0.0.0', doc: 'Address to listen on.' },
  POLYEVAL_LANGUAGES: {
    schema: z.string(),
    default: '',
    doc: 'Comma-separated ids of the languages to enable; empty enables every language folder found.',
  },
  POLYEVAL_POOL_SIZE: {
    schema: int(1).max(256),
    default: availableParallelism(),
    doc: 'Sandbox slots per language (calls run at once); default: one per core.',
  },
  POLYEVAL_QUEUE_MAX: {
    schema: int(0),
    default: 64,
    doc: 'Calls that may wait per language before new ones get 503.',
  },
  POLYEVAL_QUEUE_TIMEOUT_MS: {
    schema: int(1),
    default: 30_000,
    doc: 'How long a call may wait in the queue before it is refused with 503.',
  },
  POLYEVAL_TIMEOUT_MS: { schema: int(1), default: 2_000, doc: 'Default wall-time limit of a call.' },
  POLYEVAL_TIMEOUT_MS_MAX: {
    schema: int(1),
    default: 15_000,
    doc: 'Ceiling of the wall-time limit a call may ask for.',
  },
  POLYEVAL_MEMORY_MB: { schema: int(1), default: 64, doc: 'Default memory limit of a call, in MiB.' },
  POLYEVAL_MEMORY_MB_MAX: {
    schema: int(1),
    default: 512,
    doc: 'Ceiling of the memory limit a call may ask for.',
  },
  POLYEVAL_OUTPUT_BYTES: {
    schema: int(1),
    default: 65_536,
    doc: 'Default output limit: stdout and stderr together, and separately the encoded result.',
  },
  POLYEVAL_OUTPUT_BYTES_MAX: { schema: int(1), default: 4_194_304, doc: 'Ceiling of the output limit.' },
  POLYEVAL_BODY_LIMIT_BYTES: { schema: int(1024), default: 8_388_608, doc: 'Largest request body accepted.' },
  POLYEVAL_MAX_CONNECTIONS: {
    schema: int(1),
    default: 1024,
    doc: 'Concurrent TCP connections the server accepts.',
  },
  POLYEVAL_REQUEST_TIMEOUT_MS: {
    schema: int(1000),
    default: 60_000,
    doc: 'Time a client has to send a whole request (slow clients are cut off).',
  },
  POLYEVAL_HEADERS_TIMEOUT_MS: {
    schema: int(1000),
    default: 10_000,
    doc: 'Time a client has to send the headers.',
  },
  POLYEVAL_LOG_LEVEL: {
    schema: z.enum(['debug', 'info', 'warn', 'error', 'silent']),
    default: 'info',
    doc: 'Least severe log level written (JSON lines on stdout).',
  },
} as const;

type Vars = typeof CONFIG_VARIABLES;
export type GlobalConfig = { readonly [K in keyof Vars]: z.infer<Vars[K]['schema']> };

/** The per-language variables the core itself reads (suffixes after POLYEVAL_<ID>_). */
export const LANGUAGE_VARIABLES = {
  TIMEOUT_MS: 'Default wall-time limit for this language.',
  TIMEOUT_MS_MAX: 'Ceiling of the wall-time limit for this language.',
  MEMORY_MB: 'Default memory limit for this language.',
  MEMORY_MB_MAX: 'Ceiling of the memory limit for this language.',
  OUTPUT_BYTES: 'Default output limit for this language.',
  OUTPUT_BYTES_MAX: 'Ceiling of the output limit for this language.',
  POOL_SIZE: 'Sandbox slots for this language.',
  QUEUE_MAX: 'Queue length for this language.',
} as const;

export interface LanguageOverrides {
  readonly limits: { readonly [K in keyof Limits]?: { default?: number; max?: number } };
  readonly poolSize?: number;
  readonly queueMax?: number;
  /** Every other POLYEVAL_<ID>_* variable, prefix stripped. */
  readonly settings: Readonly<Record<string, string>>;
}

export interface Config {
  readonly global: GlobalConfig;
  /** Overrides for a language id, from its POLYEVAL_<ID>_* variables. */
  language(id: string): LanguageOverrides;
}

const LIMIT_VARS: Record<keyof Limits, string> = {
  timeoutMs: 'TIMEOUT_MS',
  memoryMb: 'MEMORY_MB',
  outputBytes: 'OUTPUT_BYTES',
};

export function envPrefix(id: string): string {
  return `POLYEVAL_${id.toUpperCase().replace(/-/g, '_')}_`;
}

function parseVar<S extends z.ZodType>(name: string, schema: S, value: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(
      `Invalid ${name}="${value}": ${parsed.error.issues.map((i) => i.message).join('; ')}`,
    );
  }
  return parsed.data;
}

/** Reads the configuration from an environment (process.env by default). */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const global: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(CONFIG_VARIABLES)) {
    const value = env[name];
    global[name] = value === undefined || value === '' ? spec.default : parseVar(name, spec.schema, value);
  }
  const g = Object.freeze(global) as GlobalConfig;
  for (const key of ['TIMEOUT_MS', 'MEMORY_MB', 'OUTPUT_BYTES'] as const) {
    if (g[`POLYEVAL_${key}`] > g[`POLYEVAL_${key}_MAX`]) {
      throw new ConfigError(`POLYEVAL_${key} (${g[`POLYEVAL_${key}`]}) is above POLYEVAL_${key}_MAX`);
    }
  }
  const cache = new Map<string, LanguageOverrides>();
  return Object.freeze({
    global: g,
    language(id: string): LanguageOverrides {
      const cached = cache.get(id);
      if (cached !== undefined) return cached;
      const prefix = envPrefix(id);
      const positive = int(1);
      const read = (suffix: string): number | undefined => {
        const value = env[prefix + suffix];
        return value === undefined || value === '' ? undefined : parseVar(prefix + suffix, positive, value);
      };
      const limits: Record<string, { default?: number; max?: number }> = {};
      for (const [limit, suffix] of Object.entries(LIMIT_VARS)) {
        const d = read(suffix);
        const m = read(`${suffix}_MAX`);
        limits[limit] = {
          ...(d === undefined ? {} : { default: d }),
          ...(m === undefined ? {} : { max: m }),
        };
      }
      const settings: Record<string, string> = {};
      for (const [name, value] of Object.entries(env)) {
        if (!name.startsWith(prefix) || value === undefined) continue;
        const suffix = name.slice(prefix.length);
        if (!Object.hasOwn(LANGUAGE_VARIABLES, suffix)) settings[suffix] = value;
      }
      const poolSize = read('POOL_SIZE');
      const queueMax =
        env[`${prefix}QUEUE_MAX`] === undefined
          ? undefined
          : parseVar(`${prefix}QUEUE_MAX`, int(0), env[`${prefix}QUEUE_MAX`]!);
      const overrides: LanguageOverrides = Object.freeze({
        limits,
        ...(poolSize === undefined ? {} : { poolSize }),
        ...(queueMax === undefined ? {} : { queueMax }),
        settings: Object.freeze(settings),
      });
      cache.set(id, overrides);
      return overrides;
    },
  });
}
