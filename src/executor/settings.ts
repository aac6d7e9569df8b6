// Reading a language's own settings (POLYEVAL_<LANGUAGE>_<KEY>, handed to its executor as
// `context.settings` keyed by <KEY>): an integer within bounds, or a clear error naming the variable.

export function intSetting(
  settings: Readonly<Record<string, string>>,
  language: string,
  key: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = settings[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    const name = `POLYEVAL_${language.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_${key}`;
    throw new Error(`Invalid ${name}="${raw}": expected an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * The settings of interpreters started on demand (worker pools, and Python's reset mode): WARM kept
 * alive while idle; a call that finds none idle (or has waited SPAWN_AFTER_MS) starts another, up
 * to the capacity; one beyond WARM idle IDLE_RETIRE_MS is stopped.
 */
export function onDemandSettings(
  settings: Readonly<Record<string, string>>,
  language: string,
  warm: { readonly fallback: number; readonly min: number },
): { warm: number; spawnAfterMs: number; idleRetireMs: number } {
  return {
    warm: intSetting(settings, language, 'WARM', warm.fallback, warm.min, 256),
    spawnAfterMs: intSetting(settings, language, 'SPAWN_AFTER_MS', 0, 0, 60_000),
    idleRetireMs: intSetting(settings, language, 'IDLE_RETIRE_MS', 30_000, 100, 86_400_000),
  };
}
