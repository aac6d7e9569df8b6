// Limits are a default plus a ceiling. Precedence: the request's own value (clamped to the ceiling)
// > the operator's per-language override > the language manifest > the operator's global value.
// A ceiling is never raised by a manifest above the operator's global ceiling.

import type { GlobalConfig, LanguageOverrides } from '../config.js';
import { LIMIT_NAMES, type LimitRequest, type Limits } from '../executor/contract.js';
import type { Manifest } from '../executor/manifest.js';

export interface LimitPolicy {
  readonly defaults: Limits;
  readonly ceilings: Limits;
}

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
  for (const name of LIMIT_NAMES) {
    const key = GLOBAL_KEYS[name];
    const globalMax = global[`POLYEVAL_${key}_MAX`];
    const ceiling =
      overrides.limits[name]?.max ?? Math.min(manifest.limits[name]?.max ?? globalMax, globalMax);
    const fallback =
      overrides.limits[name]?.default ?? manifest.limits[name]?.default ?? global[`POLYEVAL_${key}`];
    ceilings[name] = ceiling;
    defaults[name] = Math.min(fallback, ceiling);
  }
  return { defaults: defaults as unknown as Limits, ceilings: ceilings as unknown as Limits };
}

/** The limits of one call: what it asked for, clamped to the ceilings, else the defaults. */
export function effectiveLimits(policy: LimitPolicy, requested: LimitRequest | undefined): Limits {
  const out: Record<string, number> = {};
  for (const name of LIMIT_NAMES) {
    const asked = requested?.[name];
    out[name] = asked === undefined ? policy.defaults[name] : Math.min(asked, policy.ceilings[name]);
  }
  return out as unknown as Limits;
}
