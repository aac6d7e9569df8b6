// npm run conformance: runs the shared conformance suite (test/conformance/cases/*.json) for every
// registered language, or the ones named, and prints a language × case matrix with timings. By
// default it starts the real server itself, one per language in turn; with --url it runs against a
// server that is already running. Exits 1 on any failure, 2 on bad usage.
//
//   npm run conformance -- [--language <id>…] [--case <pattern>] [--url <server>]
//                          [--json <file>] [--junit <file>]
//
// --case takes a substring of the case name or a /regular expression/.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type CaseResult,
  formatJunit,
  formatMatrix,
  type LanguageUnderTest,
  languagesUnderTest,
  runCase,
} from './lib/conformance.js';
import { type ConformanceCase, loadCases } from './lib/conformance-cases.js';
import { startServer } from './lib/server.js';

const usage = `Usage: npm run conformance -- [--language <id>…] [--case <pattern>] [--url <server>] [--json <file>] [--junit <file>]`;

function casePattern(pattern: string | undefined): (name: string) => boolean {
  if (pattern === undefined) return () => true;
  const regex = /^\/(.*)\/([a-z]*)$/.exec(pattern);
  if (regex !== null) {
    const re = new RegExp(regex[1]!, regex[2]);
    return (name) => re.test(name);
  }
  return (name) => name.includes(pattern);
}

/**
 * Why a fetch failed, in words: undici says only "fetch failed" and keeps the reason (ECONNREFUSED
 * 127.0.0.1:6927, ENOTFOUND, a bad URL…) in `cause`.
 */
function networkCause(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    const why: Record<string, string> = {
      ECONNREFUSED: 'connection refused (is the server running, on that port?)',
      ENOTFOUND: 'no such host',
      ECONNRESET: 'the connection was reset',
      ETIMEDOUT: 'the connection timed out',
    };
    return typeof code === 'string' && why[code] !== undefined
      ? `${why[code]} [${cause.message}]`
      : cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Languages the server at `url` has enabled (ids). */
async function enabledOn(url: string): Promise<string[]> {
  let response: Response;
  try {
    response = await fetch(`${url}/v1/languages`);
  } catch (error) {
    throw new Error(`Cannot reach the server at ${url}: ${networkCause(error)}`);
  }
  if (!response.ok) throw new Error(`GET ${url}/v1/languages answered ${response.status}`);
  const body = (await response.json()) as { languages: { id: string }[] };
  return body.languages.map((l) => l.id);
}

async function runLanguage(
  url: string,
  language: LanguageUnderTest,
  cases: readonly ConformanceCase[],
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const spec of cases) {
    const result = await runCase(url, language, spec);
    results.push(result);
    const mark = result.status === 'pass' ? '.' : result.status === 'skip' ? 's' : 'F';
    process.stderr.write(mark);
  }
  process.stderr.write(` ${language.id}\n`);
  return results;
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      options: {
        language: { type: 'string', multiple: true, short: 'l' },
        case: { type: 'string', short: 'c' },
        url: { type: 'string' },
        json: { type: 'string' },
        junit: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    });
  }
  try {
    options = parse();
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  if (options.values.help) {
    console.log(usage);
    return 0;
  }
  const wanted = options.values.language ?? [];
  let languages = languagesUnderTest(wanted);
  const matches = casePattern(options.values.case);
  const cases = loadCases().filter((c) => matches(c.name));
  if (cases.length === 0) {
    console.error(`No conformance case matches ${JSON.stringify(options.values.case)}`);
    return 2;
  }

  const results: CaseResult[] = [];
  const url = options.values.url?.replace(/\/+$/, '');
  if (url !== undefined) {
    const enabled = await enabledOn(url);
    if (wanted.length === 0) languages = languages.filter((l) => enabled.includes(l.id));
    for (const language of languages) {
      if (!enabled.includes(language.id)) {
        for (const spec of cases) {
          results.push({
            language: language.id,
            case: spec.name,
            status: 'fail',
            ms: 0,
            reason: `the server at ${url} does not have ${language.id} enabled`,
          });
        }
        continue;
      }
      results.push(...(await runLanguage(url, language, cases)));
    }
  } else {
    // One server per language, in turn: a language that cannot start fails alone.
    for (const language of languages) {
      let server: Awaited<ReturnType<typeof startServer>> | undefined;
      try {
        server = await startServer({ POLYEVAL_LANGUAGES: language.id, POLYEVAL_POOL_SIZE: '2' });
      } catch (error) {
        const reason = `the server did not start: ${(error as Error).message.split('\n')[0]}`;
        for (const spec of cases) {
          results.push({ language: language.id, case: spec.name, status: 'fail', ms: 0, reason });
        }
        process.stderr.write(`${reason} (${language.id})\n`);
        continue;
      }
      try {
        results.push(...(await runLanguage(server.url, language, cases)));
      } finally {
        await server.close();
      }
    }
  }

  console.log(formatMatrix(results));
  if (options.values.json !== undefined)
    writeFileSync(options.values.json, `${JSON.stringify(results, null, 2)}\n`);
  if (options.values.junit !== undefined) writeFileSync(options.values.junit, formatJunit(results));
  const failed = results.filter((r) => r.status === 'fail').length;
  const passed = results.filter((r) => r.status === 'pass').length;
  const skipped = results.filter((r) => r.status === 'skip').length;
  console.log(`\nconformance: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  return 2;
});
