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
