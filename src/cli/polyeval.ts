#!/usr/bin/env node
// The `polyeval` command (package.json "bin"):
//
//   polyeval serve [--port N] [--host ADDR] [--languages a,b]   the HTTP service (as npm start)
//   polyeval run <file> [--language ID] [--function NAME] [--args JSON]
//                [--timeout-ms N] [--memory-mb N] [--output-bytes N] [--json]
//   polyeval languages [--json]                                   what is installed, with limits
//   polyeval conformance [--url URL] [args…]                      the shared conformance suite
//   polyeval warm                                                 start every enabled engine once
//                                                                 (builds caches, e.g. at image build)
//
// `run` uses the same orchestrator, executors, sandboxes and limits as the service, in this
// process: the guest's stdout/stderr go to ours, then the value is printed as JSON. Exit codes:
// 0 the call succeeded, 1 the guest failed (the code is printed), 2 bad usage or configuration,
// 3 the service refused or failed the call. Progress goes to stderr while engines start.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { ConfigError, ServiceError } from '../errors.js';
import type { JsonValue } from '../executor/json-value.js';
import { parseJson, stringifyJson } from '../executor/json-value.js';
import { discoverLanguages, type LanguageEntry } from '../executor/registry.js';
import { createLogger } from '../logger.js';
import { limitPolicy } from '../orchestrator/limits.js';
import { Orchestrator } from '../orchestrator/orchestrator.js';
import { distDir } from '../paths.js';
import { packageVersion } from '../service.js';

/** Each command's usage line(s); `polyeval <command> --help` prints its own. */
const COMMANDS = {
  serve: 'polyeval serve [--port N] [--host ADDR] [--languages a,b]',
  run:
    'polyeval run <file> [--language ID] [--function NAME] [--args JSON]\n' +
    '             [--timeout-ms N] [--memory-mb N] [--output-bytes N] [--json]',
  languages: 'polyeval languages [--json]',
  conformance:
    'polyeval conformance [--language ID…] [--case PATTERN] [--url URL] [--json FILE] [--junit FILE]\n' +
    '                     (--url: run against a running server instead of starting one per language)',
  warm: 'polyeval warm',
} as const;

type Command = keyof typeof COMMANDS;

const FOOTER = 'Configuration comes from POLYEVAL_* environment variables (docs/configuration.md).';

const USAGE = `Usage:
${Object.values(COMMANDS)
  .map((u) => `  ${u}`)
  .join('\n')}
  polyeval --version

${FOOTER}`;

function commandUsage(command: Command): string {
  return `Usage:\n  ${COMMANDS[command]}\n\n${FOOTER}`;
}

class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super(message);
  }
}

/** `polyeval <command> --help`: that command's usage on stdout, exit 0. */
class HelpRequest extends Error {
  constructor(readonly command: Command) {
    super('help');
  }
}

type StringOrFlag = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };

/**
 * node:util parseArgs with the command's own words for its errors: --help on every command; a
 * negative number given to an option (--timeout-ms -1) reaches the option's own check instead of
 * parseArgs' "ambiguous" message; an unknown option or a missing value is named with the usage.
 */
function parseCommand<O extends Record<string, StringOrFlag>>(
  command: Command,
  argv: string[],
  options: O,
  allowPositionals = false,
) {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else args.push(arg);
  }
  let parsed: ReturnType<
    typeof parseArgs<{
      args: string[];
      allowPositionals: boolean;
      options: O & { help: { type: 'boolean'; short: 'h' } };
    }>
  >;
  try {
    parsed = parseArgs({
      args,
      allowPositionals,
      options: { ...options, help: { type: 'boolean', short: 'h' } } as O & {
        help: { type: 'boolean'; short: 'h' };
      },
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const option = /'(-[^' ]*)/.exec((error as Error).message)?.[1];
    const message =
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? `Unknown option ${option ?? ''} for "polyeval ${command}"`
        : code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
          ? `${option ?? 'An option'} needs a value`
          : code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
            ? `"polyeval ${command}" takes no positional argument`
            : (error as Error).message;
    throw new UsageError(message, command);
  }
  if ((parsed.values as { help?: boolean }).help === true) throw new HelpRequest(command);
  return parsed;
}

const EXIT = { ok: 0, guest: 1, usage: 2, service: 3 } as const;

/** Progress on stderr: a ticking line on a terminal, plain lines otherwise. */
function progress(label: string): { done(message: string): void; fail(): void } {
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  const tty = process.stderr.isTTY === true;
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  if (tty) {
    timer = setInterval(() => {
      process.stderr.write(`\r${frames[frame++ % frames.length]} ${label} ${seconds()} s`);
    }, 100);
  } else {
    process.stderr.write(`polyeval: ${label}\n`);
  }
  return {
    done(message) {
      clearInterval(timer);
      process.stderr.write(
        tty ? `\r\x1b[K✓ ${message} (${seconds()} s)\n` : `polyeval: ${message} (${seconds()} s)\n`,
      );
    },
    fail() {
      clearInterval(timer);
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}

function pickLanguage(
  entries: readonly LanguageEntry[],
  file: string,
  asked: string | undefined,
): LanguageEntry {
  if (asked !== undefined) {
    const name = asked.toLowerCase();
    const entry = entries.find((e) => e.manifest.id === name || e.manifest.aliases.includes(name));
    if (entry === undefined) {
      throw new UsageError(
        `Unknown language "${asked}"; installed: ${entries.map((e) => e.manifest.id).join(', ')}`,
      );
    }
    return entry;
  }
  const ext = extname(file).slice(1).toLowerCase();
  const matches = entries.filter((e) => e.manifest.fixtureExtension === ext);
  if (matches.length === 1) return matches[0]!;
  throw new UsageError(
    matches.length === 0
      ? `Cannot tell the language of "${file}" from its extension: pass --language (${entries.map((e) => e.manifest.id).join(', ')})`
      : `Several languages use ".${ext}" files (${matches.map((e) => e.manifest.id).join(', ')}): pass --language`,
  );
}

function readCode(file: string, entry: LanguageEntry): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new UsageError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    if (entry.manifest.codeFormat === 'binary-or-text') return bytes.toString('base64');
    throw new UsageError(`${file} is not UTF-8 text`);
  }
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError(`--${name} must be a positive integer, got "${value}"`, 'run');
  return n;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    'run',
    argv,
    {
      language: { type: 'string', short: 'l' },
      function: { type: 'string', short: 'f' },
      args: { type: 'string', short: 'a' },
      'timeout-ms': { type: 'string' },
      'memory-mb': { type: 'string' },
      'output-bytes': { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) throw new UsageError('run takes exactly one file', 'run');
  const entries = discoverLanguages();
  const entry = pickLanguage(entries, file, values.language);
  const code = readCode(file, entry);
  let args: JsonValue[] = [];
  if (values.args !== undefined) {
    let parsed: unknown;
    try {
      parsed = parseJson(values.args);
    } catch (error) {
      throw new UsageError(`--args is not valid JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new UsageError('--args must be a JSON array, e.g. --args "[2, 3]"');
    args = parsed as JsonValue[];
  }
  const limits = {
    timeoutMs: positiveInt('timeout-ms', values['timeout-ms']),
    memoryMb: positiveInt('memory-mb', values['memory-mb']),
    outputBytes: positiveInt('output-bytes', values['output-bytes']),
  };

  const id = entry.manifest.id;
  const config = loadConfig({
    ...process.env,
    POLYEVAL_LANGUAGES: id,
    POLYEVAL_POOL_SIZE: process.env.POLYEVAL_POOL_SIZE ?? '1',
  });
  const log = createLogger(
    process.env.POLYEVAL_LOG_LEVEL === undefined ? 'warn' : config.global.POLYEVAL_LOG_LEVEL,
    { write: (line) => process.stderr.write(line) },
  );
  const starting = progress(`Starting ${entry.manifest.displayName}…`);
  const orchestrator = await Orchestrator.create(config, entries, log);
  try {
    try {
      await orchestrator.whenStarted();
    } catch (error) {
      starting.fail();
      throw error;
    }
    starting.done(`${entry.manifest.displayName} ready`);
    const asked = Object.entries(limits).filter(
      (e): e is [keyof typeof limits, number] => e[1] !== undefined,
    );
    const result = await orchestrator.evaluate({
      language: id,
      code,
      function: values.function ?? 'main',
      args,
      limits,
    });
    // A limit above the language's ceiling runs at the ceiling: say so rather than let it pass.
    for (const [name, value] of asked) {
      if (result.limits[name] < value) {
        const [flag, unit] = {
          timeoutMs: ['--timeout-ms', 'ms'],
          memoryMb: ['--memory-mb', 'MiB'],
          outputBytes: ['--output-bytes', 'bytes'],
        }[name];
        process.stderr.write(
          `polyeval: ${flag} ${value} is above the ceiling of ${id}: the call ran with ${result.limits[name]} ${unit}\n`,
        );
      }
    }
    if (values.json === true) {
      process.stdout.write(`${stringifyJson(result)}\n`);
    } else {
      process.stdout.write(result.stdout);
      process.stderr.write(result.stderr);
      if (result.ok) process.stdout.write(`${stringifyJson(result.value)}\n`);
      else {
        const line = result.error.line;
        const where =
          line === undefined || result.error.message.includes(`line ${line}`) ? '' : ` (line ${line})`;
        process.stderr.write(`${result.error.code}: ${result.error.message}${where}\n`);
        if (result.error.stack !== undefined) process.stderr.write(`${result.error.stack}\n`);
      }
    }
    return result.ok ? EXIT.ok : EXIT.guest;
  } finally {
    await orchestrator.close({ graceMs: 0 });
  }
}

function languages(argv: string[]): number {
  const { values } = parseCommand('languages', argv, { json: { type: 'boolean' } });
  const config = loadConfig();
  const enabled = config.global.POLYEVAL_LANGUAGES.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const rows = discoverLanguages().map(({ manifest }) => {
    const overrides = config.language(manifest.id);
    const policy = limitPolicy(manifest, overrides, config.global);
    return {
      id: manifest.id,
      displayName: manifest.displayName,
      aliases: manifest.aliases,
      engine: manifest.engine.name,
      extension: manifest.fixtureExtension,
      enabled: enabled.length === 0 || enabled.includes(manifest.id),
      ...(overrides.remote === undefined ? {} : { remote: overrides.remote }),
      limits: policy,
    };
  });
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return EXIT.ok;
  }
  const table = [
    ['id', 'aliases', 'engine', 'file', 'timeout ms', 'memory MiB', 'output bytes', 'enabled'],
    ...rows.map((r) => [
      r.id,
      r.aliases.join(',') || '-',
      r.engine,
      `.${r.extension}`,
      `${r.limits.defaults.timeoutMs}/${r.limits.ceilings.timeoutMs}`,
      `${r.limits.defaults.memoryMb}/${r.limits.ceilings.memoryMb}${r.limits.floors.memoryMb > 1 ? ` (≥${r.limits.floors.memoryMb})` : ''}`,
      `${r.limits.defaults.outputBytes}/${r.limits.ceilings.outputBytes}`,
      r.remote === undefined ? (r.enabled ? 'yes' : 'no') : `remote ${r.remote.join(',')}`,
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table)
    process.stdout.write(
      `${row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}\n`,
    );
  process.stdout.write(
    "\nLimits are default/ceiling; a call may ask for less, never more than the ceiling, nor less than\nthe engine's floor (≥).\n",
  );
  return EXIT.ok;
}

async function conformance(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequest('conformance');
  const script = fileURLToPath(new URL('scripts/conformance.js', distDir));
  if (!existsSync(script)) {
    process.stderr.write(
      'polyeval: the conformance runner is not built (dist/scripts/conformance.js is missing).\n' +
        'Build it with "npm run build" in a checkout of Polyeval, then run "polyeval conformance" again.\n',
    );
    return EXIT.usage;
  }
  const child = spawn(process.execPath, [script, ...argv], { stdio: 'inherit' });
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

/** Starts every enabled language once and stops: engines build their caches (snapshots…) on first start. */
async function warm(argv: string[]): Promise<number> {
  parseCommand('warm', argv, {});
  const config = loadConfig();
  const log = createLogger(
    process.env.POLYEVAL_LOG_LEVEL === undefined ? 'warn' : config.global.POLYEVAL_LOG_LEVEL,
    {
      write: (line) => process.stderr.write(line),
    },
  );
  const orchestrator = await Orchestrator.create(config, discoverLanguages(), log);
  const ids = orchestrator.manifests().map((m) => m.id);
  const starting = progress(`Warming ${ids.join(', ')}…`);
  try {
    await orchestrator.whenStarted();
    starting.done(`${ids.length} language${ids.length === 1 ? '' : 's'} warm`);
    return EXIT.ok;
  } catch (error) {
    starting.fail();
    throw error;
  } finally {
    await orchestrator.close({ graceMs: 0 });
  }
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseCommand('serve', argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    languages: { type: 'string' },
  });
  const { startService, startupFailure } = await import('../service.js');
  (await import('../logger.js')).routeProcessWarnings();
  const env = {
    ...process.env,
    ...(values.port === undefined ? {} : { PORT: values.port }),
    ...(values.host === undefined ? {} : { POLYEVAL_HOST: values.host }),
    ...(values.languages === undefined ? {} : { POLYEVAL_LANGUAGES: values.languages }),
  };
  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService({ env, handleSignals: true });
  } catch (error) {
    // The same message and exit code as `npm start` (src/main.ts).
    const { message, exitCode } = startupFailure(error);
    process.stderr.write(`polyeval: cannot start: ${message}\n`);
    return exitCode;
  }
  process.stderr.write(`polyeval: serving on ${service.url} (playground: ${service.url}/playground)\n`);
  // Runs until a signal stops it (the handler exits the process).
  return new Promise<number>(() => {});
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'run':
        return await run(rest);
      case 'languages':
        return languages(rest);
      case 'conformance':
        return await conformance(rest);
      case 'warm':
        return await warm(rest);
      case '--version':
      case '-v':
        process.stdout.write(`${packageVersion()}\n`);
        return EXIT.ok;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        throw new UsageError(`Unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof HelpRequest) {
      process.stdout.write(`${commandUsage(error.command)}\n`);
      return EXIT.ok;
    }
    if (error instanceof UsageError) {
      const usage = error.command === undefined ? USAGE : commandUsage(error.command);
      process.stderr.write(`polyeval: ${error.message}\n\n${usage}\n`);
      return EXIT.usage;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`polyeval: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof ServiceError) {
      process.stderr.write(`polyeval: ${error.problem}: ${error.detail}\n`);
      return EXIT.service;
    }
    process.stderr.write(
      `polyeval: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT.service;
  }
}

// Run when executed (not when imported by a test). The exit code is set rather than forced, so
// that output written to a pipe is flushed; a leftover handle cannot keep the process up, though.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realPath(process.argv[1])) {
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
  setTimeout(() => process.exit(code), 2_000).unref();
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
