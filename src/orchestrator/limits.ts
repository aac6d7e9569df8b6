// Limits are a default plus a ceiling. Precedence: the request's own value (clamped to the ceiling)
// > the operator's per-language override > the language manifest > the operator's global value.
// A ceiling is never raised by a manifest above the operator's global ceiling. A language may have a
// floor (manifest limits.<name>.min: the memory its engine takes by itself): a call asking for less
// is refused with 400 naming the floor, rather than run with a limit the answer would misreport.

import type { GlobalConfig, LanguageOverrides } from '../config.js';
import { ConfigError, ServiceError } from '../errors.js';
import { LIMIT_NAMES, type LimitRequest, type Limits } from '../executor/contract.js';
import type { Manifest } from '../executor/manifest.js';

export interface LimitPolicy {
  readonly defaults: Limits;
  readonly ceilings: Limits;
  /** The least a call may ask for (1 unless the engine has a floor). */
  readonly floors: Limits;
}

const UNITS: Record<keyof Limits, string> = { timeoutMs: 'ms', memoryMb: 'MiB', outputBytes: 'bytes' };

const GLOBAL_KEYS: Record<keyof Limits, 'TIMEOUT_MS' | 'MEMORY_MB' | 'OUTPUT_BYTES'> = {
  timeoutMs: 'TIMEOUT_MS',
  memoryMb: 'MEMORY_MB',
  outputBytes: 'OUTPUT_BYTES',
};

export function limitPolicy(
  manifest: Manifest,
  overrides: LanguageOverrides,
  global: GlobalConfig,
): LimitPolicy {
  const defaults: Record<string, number> = {};
  const ceilings: Record<string, number> = {};
  const floors: Record<string, number> = {};
  for (const name of LIMIT_NAMES) {
    const key = GLOBAL_KEYS[name];
    const globalMax = global[`POLYEVAL_${key}_MAX`];
    const ceiling =
      overrides.limits[name]?.max ?? Math.min(manifest.limits[name]?.max ?? globalMax, globalMax);
    const fallback =
      overrides.limits[name]?.default ?? manifest.limits[name]?.default ?? global[`POLYEVAL_${key}`];
    const floor = manifest.limits[name]?.min ?? 1;
    if (ceiling < floor) {
      const prefix = `POLYEVAL_${manifest.id.toUpperCase().replace(/-/g, '_')}_${key}_MAX`;
      throw new ConfigError(
        `The ${name} ceiling of "${manifest.id}" (${ceiling} ${UNITS[name]}) is below the least its engine runs in (${floor} ${UNITS[name]}): raise ${prefix} or POLYEVAL_${key}_MAX`,
      );
    }
    ceilings[name] = ceiling;
    floors[name] = floor;
    // A default below the floor is raised to it: the call runs with (and reports) the floor.
    defaults[name] = Math.max(Math.min(fallback, ceiling), floor);
  }
  return {
    defaults: defaults as unknown as Limits,
    ceilings: ceilings as unknown as Limits,
    floors: floors as unknown as Limits,
  };
}

/**
 * The limits of one call: what it asked for, clamped to the ceilings, else the defaults. Asking
 * for less than a floor is a 400 naming it (`language` names the language in the message).
 */
export function effectiveLimits(
  policy: LimitPolicy,
  requested: LimitRequest | undefined,
  language = 'this language',
): Limits {
  const out: Record<string, number> = {};
  for (const name of LIMIT_NAMES) {
    const asked = requested?.[name];
    const floor = policy.floors[name];
    if (asked !== undefined && asked < floor) {
      const message = `${asked} is below the least ${language} runs in: ${floor} ${UNITS[name]} (the engine's own ${name === 'memoryMb' ? 'memory' : 'minimum'}); ask for ${floor} or more`;
      throw new ServiceError('invalid-request', `Invalid request: limits.${name}: ${message}`, {
        extra: { errors: [{ pointer: `/limits/${name}`, message }] },
      });
    }
    out[name] = asked === undefined ? policy.defaults[name] : Math.min(asked, policy.ceilings[name]);
  }
  return out as unknown as Limits;
}
