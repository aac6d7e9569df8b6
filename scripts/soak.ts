// `npm run soak -- --minutes N`: sustained mixed load on a real server (every language, about one
// call in ten hostile) with the figures an operator needs: good calls lost (goal 0), error-code
// accuracy, p50/p99 per language, resident memory over time and its trend after warm-up (goal: flat
// within 10 %). See scripts/lib/soak.ts. Options:
//   --minutes N | --seconds N   duration (default 5 minutes)
//   --concurrency N             concurrent callers (default 4)
//   --hostile R                 share of hostile calls (default 0.1)
//   --languages a,b             languages to load (default: javascript,lua,wasm,python)
//   --url URL                   soak a running server instead of starting one (no memory figures)
//   --seed N                    replay the same sequence of calls
//   --json                      print the whole report as JSON
// Exits 1 when a good call was lost, a hostile call ended with an unexpected code, or the median
// resident memory grew more than 10 % after warm-up (last third of the run against the middle third).

import { parseArgs } from 'node:util';
import { formatSoakReport, runSoak, SOAK_LANGUAGES, type SoakLanguage } from './lib/soak.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    seconds: { type: 'string' },
    concurrency: { type: 'string' },
    hostile: { type: 'string' },
    languages: { type: 'string' },
    url: { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const number = (name: string, text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`soak: --${name} must be a non-negative number, got "${text}"\n`);
    process.exit(2);
  }
  return n;
};

const seconds =
  values.seconds !== undefined
    ? number('seconds', values.seconds, 300)
    : number('minutes', values.minutes, 5) * 60;
const languages = (values.languages?.split(',').map((s) => s.trim()) ?? [
  ...SOAK_LANGUAGES,
]) as SoakLanguage[];
for (const l of languages) {
  if (!(SOAK_LANGUAGES as readonly string[]).includes(l)) {
    process.stderr.write(`soak: unknown language "${l}" (known: ${SOAK_LANGUAGES.join(', ')})\n`);
    process.exit(2);
  }
}

process.stderr.write(`soak: ${seconds} s over ${languages.join(', ')}\n`);
const report = await runSoak({
  durationMs: seconds * 1000,
  concurrency: number('concurrency', values.concurrency, 4),
  hostileRatio: number('hostile', values.hostile, 0.1),
  languages,
  ...(values.url === undefined ? {} : { url: values.url }),
  ...(values.seed === undefined ? {} : { seed: number('seed', values.seed, 0) }),
  progress: (line) => process.stderr.write(`soak: ${line}\n`),
});
process.stdout.write(`${values.json ? JSON.stringify(report, null, 2) : formatSoakReport(report)}\n`);
// Flat: the median resident memory after warm-up grew no more than 10 %.
const memoryFlat =
  report.rssGrowth === undefined || (report.rssGrowth.service <= 0.1 && report.rssGrowth.tree <= 0.1);
process.exit(report.goodLost === 0 && report.accuracy === 1 && memoryFlat ? 0 : 1);
