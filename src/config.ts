// Service configuration: read once from the environment at boot (POLYEVAL_* variables and PORT),
// validated, frozen. A bad value stops the service with a message naming the variable.
// Per-language variables are POLYEVAL_<ID>_<NAME> where <ID> is the language id upper-cased with
// dashes as underscores; the core reads the limit, pool and queue ones and hands the rest to the
// language's executor as `settings`. POLYEVAL_REMOTE_<ID> routes a language to remote evaluators.
// docs/configuration.md is generated from CONFIG_VARIABLES, LANGUAGE_VARIABLES and REMOTE_VARIABLE
// (npm run docs:config; test/unit/config-docs.test.ts keeps it in sync).

import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import type { Limits } from './executor/contract.js';

const int = (min: number) => z.coerce.number().int().min(min);

/** One global variable. `docDefault` replaces the default in docs where it depends on the machine. */
export interface VariableSpec {
  readonly schema: z.ZodType;
  readonly default: string | number;
  readonly doc: string;
  readonly docDefault?: string;
  /** The variable that caps this one (a default's ceiling). */
  readonly ceiling?: string;
}

/** An http:// or https:// URL (hoisted: the variable table below uses it). */
function remoteUrlSchema() {
  return z
    .string()
    .trim()
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'must be an http:// or https:// URL');
}

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
    docDefault: 'number of cores',
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
  POLYEVAL_TIMEOUT_MS: {
    schema: int(1),
    default: 2_000,
    ceiling: 'POLYEVAL_TIMEOUT_MS_MAX',
    doc: 'Default wall-time limit of a call.',
  },
  POLYEVAL_TIMEOUT_MS_MAX: {
    schema: int(1),
    default: 15_000,
    doc: 'Ceiling of the wall-time limit a call may ask for.',
  },
  POLYEVAL_MEMORY_MB: {
    schema: int(1),
    default: 64,
    ceiling: 'POLYEVAL_MEMORY_MB_MAX',
    doc: 'Default memory limit of a call, in MiB.',
  },
  POLYEVAL_MEMORY_MB_MAX: {
    schema: int(1),
    default: 512,
    doc: 'Ceiling of the memory limit a call may ask for.',
  },
  POLYEVAL_OUTPUT_BYTES: {
    schema: int(1),
    default: 65_536,
    ceiling: 'POLYEVAL_OUTPUT_BYTES_MAX',
    doc: 'Default output limit: stdout and stderr together, and separately the encoded result.',
  },
  POLYEVAL_OUTPUT_BYTES_MAX: { schema: int(1), default: 4_194_304, doc: 'Ceiling of the output limit.' },
  POLYEVAL_BODY_LIMIT_BYTES: { schema: int(1024), default: 8_388_608, doc: 'Largest request body accepted.' },
  POLYEVAL_MODULE_BODY_LIMIT_BYTES: {
    schema: int(1024),
    default: 33_554_432,
    doc: 'Largest binary module upload (POST /v1/modules?language=<id> with Content-Type application/wasm, for modules too large as base64 in JSON).',
  },
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
  POLYEVAL_MAX_HEADER_BYTES: {
    schema: int(1024).max(1_048_576),
    default: 16_384,
    doc: "Largest total size of a request's headers (431 beyond).",
  },
  POLYEVAL_KEEP_ALIVE_TIMEOUT_MS: {
    schema: int(0),
    default: 5_000,
    doc: "How long an idle keep-alive connection is kept open (set above a load balancer's idle timeout).",
  },
  POLYEVAL_SHUTDOWN_TIMEOUT_MS: {
    schema: int(0),
    default: 10_000,
    doc: 'On SIGTERM, how long in-flight calls may run on before they are cancelled (answered 503 shutting-down).',
  },
  POLYEVAL_LOG_LEVEL: {
    schema: z.enum(['debug', 'info', 'warn', 'error', 'silent']),
    default: 'info',
    doc: 'Least severe log level written (JSON lines on stdout). Guest code and arguments are only logged at debug.',
  },
  POLYEVAL_PLAYGROUND: {
    schema: z.enum(['on', 'off']),
    default: 'on',
    doc: 'Serve the playground page (/playground) and the API docs UI (/docs).',
  },
  POLYEVAL_METRICS: {
    schema: z.enum(['on', 'off']),
    default: 'on',
    doc: 'Serve Prometheus metrics at /metrics.',
  },
  POLYEVAL_AUTH_TOKENS: {
    schema: z.string(),
    default: '',
    doc: 'Comma-separated bearer tokens (16+ characters each); when set (or POLYEVAL_AUTH_TOKENS_FILE is), every route but /livez, /readyz and the static pages needs "Authorization: Bearer <token>". Empty: no authentication.',
  },
  POLYEVAL_AUTH_TOKENS_FILE: {
    schema: z.string(),
    default: '',
    doc: 'A file of bearer tokens, one per line or comma-separated (a mounted Kubernetes Secret), added to POLYEVAL_AUTH_TOKENS; read at start.',
  },
  POLYEVAL_AUTH_METRICS: {
    schema: z.enum(['on', 'off']),
    default: 'on',
    doc: 'With authentication on, whether /metrics needs a token too (off: open to a scraper, e.g. one restricted by a NetworkPolicy).',
  },
  POLYEVAL_REMOTE_TIMEOUT_MS: {
    schema: int(100),
    default: 35_000,
    doc: "How long a remote evaluator may take beyond the call's own time limit (its queue wait included) before the call fails with 502.",
  },
  POLYEVAL_REMOTE_CONNECT_TIMEOUT_MS: {
    schema: int(50),
    default: 2_000,
    doc: 'How long connecting to a remote evaluator may take before the attempt counts as a connection failure.',
  },
  POLYEVAL_REMOTE_RETRIES: {
    schema: int(0).max(10),
    default: 2,
    doc: 'Extra attempts after a connection failure to a remote evaluator (never after the request was delivered).',
  },
  POLYEVAL_REMOTE_MAX_IN_FLIGHT: {
    schema: int(1),
    default: 256,
    doc: 'Calls sent at once to a remote language (beyond: the local queue); remotes have their own queues.',
  },
  POLYEVAL_WIKIFUNCTIONS_REMAINING_TIME: {
    schema: z.enum(['ignore', 'honour']),
    default: 'ignore',
    doc:
      "What a Wikifunctions request's remainingTime does. ignore (as the reference evaluator): nothing; the 2023 orchestrator sends a broken value (about -1.8e12). " +
      'honour: read as milliseconds, it lowers the time limit (never raises it); 0 or less is a Z575 at once; beyond ±1 day it is nonsense and ignored.',
  },
  POLYEVAL_WIKIFUNCTIONS_ORCHESTRATOR_URL: {
    schema: z.union([z.literal(''), remoteUrlSchema()]),
    default: '',
    doc: "The Wikifunctions orchestrator's evaluate URL (e.g. http://orchestrator:6254/1/v1/evaluate/): where calls that guests make to other functions (reentrance: Wikifunctions.Call, W.Call) are sent over HTTP. Empty: they go over the websocket the 2023 orchestrator opened for the request, when one is paired with it, else they are refused (Z507); see POLYEVAL_WIKIFUNCTIONS_CALL_TRANSPORT.",
  },
  POLYEVAL_WIKIFUNCTIONS_REENTRANCE: {
    schema: z.enum(['request', 'always']),
    default: 'request',
    doc: 'Which Wikifunctions calls may call other functions: request (those whose request says reentrant: true; the others get the reference Z507 "Non-reentrant executor tried to call back to the orchestrator") or always (for an orchestrator that marks no request reentrant: the 2023 one without FUNCTION_EVALUATOR_WS).',
  },
  POLYEVAL_WIKIFUNCTIONS_CALL_TRANSPORT: {
    schema: z.enum(['auto', 'http', 'socket']),
    default: 'auto',
    doc: 'How calls that guests make to other functions reach the orchestrator. http: its HTTP API (POLYEVAL_WIKIFUNCTIONS_ORCHESTRATOR_URL). socket: the websocket the 2023 orchestrator opened for the request (FUNCTION_EVALUATOR_WS), once paired beyond doubt; else HTTP when a URL is set, else a Z507. auto: http when a URL is set, else socket.',
  },
} as const satisfies Record<string, VariableSpec>;

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

/** POLYEVAL_REMOTE_<ID>: where the calls of a language go instead of a local executor. */
export const REMOTE_VARIABLE = {
  prefix: 'POLYEVAL_REMOTE_',
  doc:
    'Comma-separated base URLs (http:// or https://) of Polyeval evaluators that run this language; ' +
    "the language's engine is then not loaded here. Calls go to the URL with the fewest calls in flight.",
} as const;

export interface LanguageOverrides {
  readonly limits: { readonly [K in keyof Limits]?: { default?: number; max?: number } };
  readonly poolSize?: number;
  readonly queueMax?: number;
  /** Base URLs of remote evaluators for this language (POLYEVAL_REMOTE_<ID>), when set. */
  readonly remote?: readonly string[];
  /** Every other POLYEVAL_<ID>_* variable, prefix stripped. */
  readonly settings: Readonly<Record<string, string>>;
}

export interface Config {
  readonly global: GlobalConfig;
  /** Overrides for a language id, from its POLYEVAL_<ID>_* variables. */
  language(id: string): LanguageOverrides;
  /** The <ID> part of every POLYEVAL_REMOTE_<ID> variable set (to check each names a language). */
  readonly remoteKeys?: readonly string[];
}

const LIMIT_VARS: Record<keyof Limits, string> = {
  timeoutMs: 'TIMEOUT_MS',
  memoryMb: 'MEMORY_MB',
  outputBytes: 'OUTPUT_BYTES',
};

/** The upper-case, underscore form of a language id used in variable names. */
export function envKey(id: string): string {
  return id.toUpperCase().replace(/-/g, '_');
}

export function envPrefix(id: string): string {
  return `POLYEVAL_${envKey(id)}_`;
}

const remoteUrl = z
  .string()
  .trim()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http:// or https:// URL');

function parseRemote(name: string, value: string): string[] {
  const urls = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (urls.length === 0) throw new ConfigError(`Invalid ${name}="${value}": no URL given`);
  return urls.map((u) => parseVar(name, remoteUrl, u).replace(/\/+$/, ''));
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
  if (g.POLYEVAL_HEADERS_TIMEOUT_MS > g.POLYEVAL_REQUEST_TIMEOUT_MS) {
    throw new ConfigError(
      `POLYEVAL_HEADERS_TIMEOUT_MS (${g.POLYEVAL_HEADERS_TIMEOUT_MS}) is above POLYEVAL_REQUEST_TIMEOUT_MS`,
    );
  }
  const cache = new Map<string, LanguageOverrides>();
  const remoteKeys = Object.keys(env)
    .filter(
      (name) =>
        name.startsWith(REMOTE_VARIABLE.prefix) &&
        !Object.hasOwn(CONFIG_VARIABLES, name) &&
        (env[name] ?? '').trim() !== '',
    )
    .map((name) => name.slice(REMOTE_VARIABLE.prefix.length));
  for (const key of remoteKeys) parseRemote(REMOTE_VARIABLE.prefix + key, env[REMOTE_VARIABLE.prefix + key]!);
  return Object.freeze({
    global: g,
    remoteKeys: Object.freeze(remoteKeys),
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
      const remoteName = REMOTE_VARIABLE.prefix + envKey(id);
      const remoteValue = env[remoteName];
      const remote =
        remoteValue === undefined || remoteValue.trim() === ''
          ? undefined
          : parseRemote(remoteName, remoteValue);
      const queueMax =
        env[`${prefix}QUEUE_MAX`] === undefined
          ? undefined
          : parseVar(`${prefix}QUEUE_MAX`, int(0), env[`${prefix}QUEUE_MAX`]!);
      const overrides: LanguageOverrides = Object.freeze({
        limits,
        ...(poolSize === undefined ? {} : { poolSize }),
        ...(queueMax === undefined ? {} : { queueMax }),
        ...(remote === undefined ? {} : { remote: Object.freeze(remote) }),
        settings: Object.freeze(settings),
      });
      cache.set(id, overrides);
      return overrides;
    },
  });
}

/** A POLYEVAL_* variable set but read by nothing, with the known name it is closest to. */
export interface UnknownVariable {
  readonly name: string;
  readonly suggestion?: string;
}

/** Edit distance (insertions, deletions, substitutions): short names only, so the plain table is enough. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        previous[j]! + 1,
        row[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * The POLYEVAL_* variables in `env` that no part of the service reads (POLYEVAL_POOLSIZE for
 * POLYEVAL_POOL_SIZE), each with the closest known name when one is near. Known: the global
 * variables, and for each language folder its POLYEVAL_<ID>_* variables and POLYEVAL_REMOTE_<ID>.
 * A POLYEVAL_<ID>_<NAME> the core does not read is a setting of that language (its executor
 * validates it), unless it is one edit or two from a core per-language name (POOLSIZE).
 */
export function unknownVariables(
  env: Readonly<Record<string, string | undefined>>,
  languageIds: readonly string[],
): UnknownVariable[] {
  const known = new Set<string>(Object.keys(CONFIG_VARIABLES));
  for (const id of languageIds) {
    known.add(REMOTE_VARIABLE.prefix + envKey(id));
    for (const suffix of Object.keys(LANGUAGE_VARIABLES)) known.add(envPrefix(id) + suffix);
  }
  const closest = (name: string): string | undefined => {
    let best: { name: string; d: number } | undefined;
    for (const candidate of known) {
      const d = distance(name, candidate);
      if (best === undefined || d < best.d) best = { name: candidate, d };
    }
    // A misspelt language id with a setting after it (JAVASCRPT for JAVASCRIPT).
    for (const id of languageIds) {
      const prefix = envPrefix(id);
      for (let at = prefix.length - 2; at <= prefix.length + 2 && at < name.length; at++) {
        const d = distance(name.slice(0, at), prefix);
        if (name[at - 1] === '_' && d <= 2 && (best === undefined || d < best.d)) {
          best = { name: prefix + name.slice(at), d };
        }
      }
    }
    // Near enough to be a typo: a few edits, relative to the length of the name.
    return best !== undefined && best.d <= Math.max(3, Math.floor(name.length / 6)) ? best.name : undefined;
  };
  const unknown: UnknownVariable[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('POLYEVAL_') || known.has(name) || env[name] === undefined) continue;
    const language = languageIds.find((id) => name.startsWith(envPrefix(id)));
    if (language !== undefined) {
      const suffix = name.slice(envPrefix(language).length);
      const near = Object.keys(LANGUAGE_VARIABLES).find((s) => distance(suffix, s) <= 2);
      // A language setting (handed to the executor), unless it is a near miss of a core name.
      if (near === undefined || suffix.length < 4) continue;
      unknown.push({ name, suggestion: envPrefix(language) + near });
      continue;
    }
    const suggestion = closest(name);
    unknown.push(suggestion === undefined ? { name } : { name, suggestion });
  }
  return unknown;
}
