// The conformance suite's engine, shared by `npm run conformance` (scripts/conformance.ts) and the
// vitest file test/conformance/conformance.test.ts: which languages and fixtures there are, how one
// case runs against a server over HTTP, and how its answer is judged. A missing fixture and a
// fixture still holding the scaffold's stub marker fail; a case is skipped only when the language's
// manifest lists it in `conformanceSkips` with a reason.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GUEST_ERROR_CODES } from '../../src/errors.js';
import { type JsonValue, parseJson, stringifyJson } from '../../src/executor/json-value.js';
import type { Manifest } from '../../src/executor/manifest.js';
import { discoverLanguages } from '../../src/executor/registry.js';
import { acceptedCodes, type ConformanceCase, type StreamExpectation } from './conformance-cases.js';

/** A fixture written by `npm run new-language` holds this marker until someone writes it. */
export const STUB_MARKER = 'POLYEVAL-FIXTURE-STUB';

export type Status = 'pass' | 'fail' | 'skip';

/** One line of the JSON report. */
export interface CaseResult {
  readonly language: string;
  readonly case: string;
  readonly status: Status;
  /** Wall time of the case's HTTP calls (0 when nothing was sent). */
  readonly ms: number;
  readonly reason?: string;
}

export interface LanguageUnderTest {
  readonly id: string;
  readonly manifest: Manifest;
  /** file: URL of interpreters/<id>/. */
  readonly sourceDir: URL;
}

/** Every registered language (the registry the server uses), optionally narrowed to `ids`. */
export function languagesUnderTest(ids: readonly string[] = []): LanguageUnderTest[] {
  const all = discoverLanguages().map((e) => ({
    id: e.manifest.id,
    manifest: e.manifest,
    sourceDir: e.sourceDir,
  }));
  if (ids.length === 0) return all;
  const unknown = ids.filter((id) => !all.some((l) => l.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `Unknown language ${unknown.map((u) => `"${u}"`).join(', ')}; known: ${all.map((l) => l.id).join(', ')}`,
    );
  }
  return all.filter((l) => ids.includes(l.id));
}

export type Fixture =
  | { readonly kind: 'code'; readonly code: string; readonly path: string }
  | { readonly kind: 'missing'; readonly path: string }
  | { readonly kind: 'stub'; readonly path: string };

/** The language's guest code for a case. */
export function fixtureFor(language: LanguageUnderTest, name: string): Fixture {
  const url = new URL(`conformance/${name}.${language.manifest.fixtureExtension}`, language.sourceDir);
  const path = fileURLToPath(url);
  if (!existsSync(path)) return { kind: 'missing', path };
  const code = readFileSync(path, 'utf8');
  if (code.includes(STUB_MARKER)) return { kind: 'stub', path };
  return { kind: 'code', code, path };
}

/** The declared skip reason for a case, if the manifest has one. */
export function skipReason(language: LanguageUnderTest, name: string): string | undefined {
  return Object.hasOwn(language.manifest.conformanceSkips, name)
    ? language.manifest.conformanceSkips[name]
    : undefined;
}

/** What the suite needs from an /v1/evaluate answer. */
interface Answer {
  ok?: unknown;
  value?: JsonValue;
  error?: { code?: unknown; message?: unknown; line?: unknown };
  stdout?: unknown;
  stderr?: unknown;
}

async function evaluate(
  baseUrl: string,
  body: Record<string, unknown>,
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${baseUrl}/v1/evaluate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // The case's args may hold bigints: they are written as JSON integers.
    body: stringifyJson(body),
  });
  return { status: response.status, text: await response.text() };
}

/**
 * Runs one case of one language against a server and judges it. Never throws for a guest's or a
 * server's misbehaviour: that is a failure with a reason.
 */
export async function runCase(
  baseUrl: string,
  language: LanguageUnderTest,
  spec: ConformanceCase,
): Promise<CaseResult> {
  const base = { language: language.id, case: spec.name };
  const skip = skipReason(language, spec.name);
  if (skip !== undefined) return { ...base, status: 'skip', ms: 0, reason: skip };
  const fixture = fixtureFor(language, spec.name);
  if (fixture.kind !== 'code') {
    const why = fixture.kind === 'missing' ? 'missing fixture' : 'fixture not written yet (stub)';
    return { ...base, status: 'fail', ms: 0, reason: `${why} ${fixture.path}` };
  }
  const { code } = fixture;
  let total = 0;
  for (let run = 1; run <= spec.repeat; run++) {
    const started = performance.now();
    let answer: { status: number; text: string };
    try {
      answer = await evaluate(baseUrl, {
        language: language.id,
        code,
        function: spec.function,
        args: spec.args,
        ...(spec.limits === undefined ? {} : { limits: spec.limits }),
      });
    } catch (error) {
      return { ...base, status: 'fail', ms: total, reason: `request failed: ${(error as Error).message}` };
    }
    const elapsed = performance.now() - started;
    total += elapsed;
    const problem = judge(spec, answer, elapsed);
    if (problem !== undefined) {
      const which = spec.repeat > 1 ? ` (run ${run} of ${spec.repeat})` : '';
      return { ...base, status: 'fail', ms: round(total), reason: `${problem}${which}` };
    }
  }
  return { ...base, status: 'pass', ms: round(total) };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Returns why the answer does not meet the case, or undefined when it does. */
export function judge(
  spec: ConformanceCase,
  answer: { status: number; text: string },
  elapsedMs: number,
): string | undefined {
  if (answer.status !== 200) return `HTTP ${answer.status}: ${clip(answer.text)}`;
  let body: Answer;
  try {
    body = parseJson(answer.text) as Answer;
  } catch {
    return `the answer is not JSON: ${clip(answer.text)}`;
  }
  if (typeof body.stdout !== 'string' || typeof body.stderr !== 'string') {
    return 'the answer has no stdout/stderr strings';
  }
  if (spec.maxMs !== undefined && elapsedMs > spec.maxMs) {
    return `answered after ${Math.round(elapsedMs)} ms, more than the case's ${spec.maxMs} ms`;
  }
  const outputLimit = spec.limits?.outputBytes;
  const written = Buffer.byteLength(body.stdout) + Buffer.byteLength(body.stderr);
  if (outputLimit !== undefined && written > outputLimit) {
    return `stdout and stderr hold ${written} bytes, more than the output limit of ${outputLimit}`;
  }
  const codes = acceptedCodes(spec);
  if (codes === undefined) {
    if (body.ok !== true) {
      return `expected a value, got ${String(body.error?.code)}: ${clip(String(body.error?.message))}`;
    }
    const expected = (spec.expect as { value: JsonValue }).value;
    if (!sameJson(body.value ?? null, expected)) {
      return `expected ${show(expected)}, got ${show(body.value ?? null)}`;
    }
  } else {
    const expected = (spec.expect as { error: { message?: string; line?: number } }).error;
    if (body.ok !== false || body.error === undefined) {
      return `expected ${codes.join(' or ')}, got the value ${show(body.value ?? null)}`;
    }
    const { code, message, line } = body.error;
    if (typeof code !== 'string' || !(GUEST_ERROR_CODES as string[]).includes(code)) {
      return `the error code ${String(code)} is not in the catalogue`;
    }
    if (typeof message !== 'string' || message === '') return `the ${code} error has no message`;
    if (!(codes as string[]).includes(code))
      return `expected ${codes.join(' or ')}, got ${code}: ${clip(message)}`;
    if (expected.message !== undefined && !message.toLowerCase().includes(expected.message.toLowerCase())) {
      return `expected the message to contain ${JSON.stringify(expected.message)}, got ${JSON.stringify(clip(message))}`;
    }
    if (expected.line !== undefined && line !== expected.line) {
      return `expected the error at line ${expected.line}, got ${line === undefined ? 'no line' : `line ${String(line)}`} (${clip(message)})`;
    }
  }
  return checkStream('stdout', spec.stdout, body.stdout) ?? checkStream('stderr', spec.stderr, body.stderr);
}

function checkStream(
  name: string,
  expected: StreamExpectation | undefined,
  actual: string,
): string | undefined {
  if (expected === undefined) return undefined;
  if (typeof expected === 'string') {
    return actual === expected
      ? undefined
      : `expected ${name} ${JSON.stringify(expected)}, got ${JSON.stringify(clip(actual))}`;
  }
  if (expected.startsWith !== undefined && !actual.startsWith(expected.startsWith)) {
    return `expected ${name} to start with ${JSON.stringify(expected.startsWith)}, got ${JSON.stringify(clip(actual))}`;
  }
  if (expected.contains !== undefined && !actual.includes(expected.contains)) {
    return `expected ${name} to contain ${JSON.stringify(expected.contains)}, got ${JSON.stringify(clip(actual))}`;
  }
  if (expected.maxBytes !== undefined && Buffer.byteLength(actual) > expected.maxBytes) {
    return `expected at most ${expected.maxBytes} bytes of ${name}, got ${Buffer.byteLength(actual)}`;
  }
  return undefined;
}

/**
 * JSON equality as the wire defines it: objects compare by key set (guest languages need not keep
 * key order), numbers by value whether they arrived as number or bigint.
 */
export function sameJson(a: JsonValue, b: JsonValue): boolean {
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    if (typeof a === 'number' && typeof b === 'number') return a === b;
    try {
      return BigInt(a) === BigInt(b);
    } catch {
      return false; // a non-integral number never equals a bigint
    }
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameJson(v, b[i]!))
    );
  }
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && sameJson(a[k]!, b[k]!))
  );
}

function show(value: JsonValue): string {
  const text =
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? 'undefined';
  return clip(text);
}

function clip(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The results as a language × case matrix (cases down, languages across), for a terminal. */
export function formatMatrix(results: readonly CaseResult[]): string {
  const languages = [...new Set(results.map((r) => r.language))];
  const cases = [...new Set(results.map((r) => r.case))].sort();
  const cell = (r: CaseResult | undefined): string => {
    if (r === undefined) return '-';
    if (r.status === 'skip') return 'skip';
    return `${r.status === 'pass' ? 'pass' : 'FAIL'} ${r.ms >= 100 ? Math.round(r.ms) : r.ms.toFixed(1)}ms`;
  };
  const rows = cases.map((c) => [
    c,
    ...languages.map((l) => cell(results.find((r) => r.case === c && r.language === l))),
  ]);
  const totals = languages.map((l) => {
    const mine = results.filter((r) => r.language === l);
    const count = (s: Status) => mine.filter((r) => r.status === s).length;
    return `${count('pass')}/${count('fail')}/${count('skip')}`;
  });
  const header = ['case', ...languages];
  const table = [header, ...rows, ['pass/fail/skip', ...totals]];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    line(table.at(-1)!),
  ];
  const notes = results.filter((r) => r.status !== 'pass');
  if (notes.length > 0) {
    out.push('');
    for (const r of notes)
      out.push(`${r.status === 'fail' ? 'FAIL' : 'skip'} ${r.language} ${r.case}: ${r.reason ?? ''}`);
  }
  return out.join('\n');
}

/** The results as JUnit XML: one testsuite per language, one testcase per case. */
export function formatJunit(results: readonly CaseResult[]): string {
  const esc = (s: string) =>
    s
      .replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!)
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
  const languages = [...new Set(results.map((r) => r.language))];
  const suites = languages.map((language) => {
    const mine = results.filter((r) => r.language === language);
    const seconds = (ms: number) => (ms / 1000).toFixed(3);
    const cases = mine.map((r) => {
      const open = `    <testcase classname="conformance.${esc(language)}" name="${esc(r.case)}" time="${seconds(r.ms)}"`;
      if (r.status === 'pass') return `${open}/>`;
      const inner =
        r.status === 'skip'
          ? `<skipped message="${esc(r.reason ?? '')}"/>`
          : `<failure message="${esc(r.reason ?? '')}"/>`;
      return `${open}>${inner}</testcase>`;
    });
    const count = (s: Status) => mine.filter((r) => r.status === s).length;
    const time = seconds(mine.reduce((t, r) => t + r.ms, 0));
    return [
      `  <testsuite name="conformance.${esc(language)}" tests="${mine.length}" failures="${count('fail')}" skipped="${count('skip')}" time="${time}">`,
      ...cases,
      '  </testsuite>',
    ].join('\n');
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="polyeval conformance">\n${suites.join('\n')}\n</testsuites>\n`;
}
