// Renders docs/configuration.md from the configuration schema in src/config.ts: every global
// variable (CONFIG_VARIABLES), the per-language ones (LANGUAGE_VARIABLES) and remote routing
// (REMOTE_VARIABLE), with defaults, allowed values and ceilings. Written by
// scripts/docs-config.ts (npm run docs:config); test/unit/config-docs.test.ts fails when the file
// and the schema disagree.

import { z } from 'zod';
import {
  CONFIG_VARIABLES,
  LANGUAGE_VARIABLES,
  REMOTE_VARIABLE,
  type VariableSpec,
} from '../../src/config.js';

function allowed(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    type?: string;
    enum?: unknown[];
    minimum?: number;
    maximum?: number;
    format?: string;
  };
  if (json.enum !== undefined) return json.enum.map((v) => `\`${String(v)}\``).join(', ');
  if (json.type === 'integer' || json.type === 'number') {
    const max =
      json.maximum !== undefined && json.maximum < Number.MAX_SAFE_INTEGER ? json.maximum : undefined;
    if (json.minimum !== undefined && max !== undefined) return `integer ${json.minimum}–${max}`;
    if (json.minimum !== undefined) return `integer ≥ ${json.minimum}`;
    return 'integer';
  }
  return 'text';
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderConfigurationDoc(): string {
  const lines: string[] = [
    '<!-- Generated from src/config.ts by scripts/docs-config.ts (npm run docs:config). Do not edit by hand:',
    '     test/unit/config-docs.test.ts fails when this file and the schema disagree. -->',
    '',
    '# Configuration',
    '',
    'Polyeval reads its configuration once, at start, from environment variables. Every value is',
    'validated: a bad one, global or per language, stops the service before it listens, with a message',
    'naming the variable and exit code 2. An empty value means the default. A `POLYEVAL_*` variable that',
    'nothing reads (a typo: `POLYEVAL_POOLSIZE`) is reported at start as a warning naming the closest',
    'known variable.',
    '',
    '## Service',
    '',
    '| variable | default | allowed | ceiling | meaning |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const [name, spec] of Object.entries(CONFIG_VARIABLES) as [string, VariableSpec][]) {
    const shown = spec.docDefault ?? (spec.default === '' ? '(empty)' : String(spec.default));
    lines.push(
      `| \`${name}\` | ${cell(shown)} | ${allowed(spec.schema)} | ${spec.ceiling === undefined ? '' : `\`${spec.ceiling}\``} | ${cell(spec.doc)} |`,
    );
  }
  lines.push(
    '',
    '## Per language',
    '',
    '`<ID>` is a language id upper-cased, dashes as underscores (`POLYEVAL_MY_LANG_TIMEOUT_MS` for',
    "`my-lang`). Each overrides the global value above for that language. A limit's precedence: the",
    "request's own value (clamped to the ceiling) > `POLYEVAL_<ID>_…` > the language's manifest > the",
    'global variable; a manifest never raises a ceiling above the global one.',
    '',
    '| variable | default | allowed | meaning |',
    '| --- | --- | --- | --- |',
  );
  for (const [suffix, doc] of Object.entries(LANGUAGE_VARIABLES)) {
    const global = `POLYEVAL_${suffix}`;
    const fallback = /^(TIMEOUT|MEMORY|OUTPUT)/.test(suffix)
      ? `the manifest, else \`${global}\``
      : `\`${global}\``;
    lines.push(
      `| \`POLYEVAL_<ID>_${suffix}\` | ${fallback} | ${suffix === 'QUEUE_MAX' ? 'integer ≥ 0' : 'integer ≥ 1'} | ${cell(doc)} |`,
    );
  }
  lines.push(
    '',
    "Every other `POLYEVAL_<ID>_<NAME>` variable is handed to that language's executor as a setting;",
    "each language's README (`interpreters/<id>/README.md`) lists the settings it reads.",
    'The languages that run in worker threads of the service (JavaScript, Lua, WebAssembly: the',
    'worker pool, `src/executor/host/worker-executor.ts`) all read three: `WARM` (threads kept alive',
    'while idle, default 1), `SPAWN_AFTER_MS` (default 0: a',
    'call that finds no idle thread, or waited this long, starts another, up to the pool size) and',
    '`IDLE_RETIRE_MS` (default 30000: a thread beyond `WARM` idle this long is stopped). Python reads',
    'the same names for its interpreters in reset mode.',
    '',
    '## Remote evaluators',
    '',
    '| variable | default | allowed | meaning |',
    '| --- | --- | --- | --- |',
    `| \`${REMOTE_VARIABLE.prefix}<ID>\` | (unset: the language runs here) | comma-separated http(s) URLs | ${cell(REMOTE_VARIABLE.doc)} |`,
    '',
    'The timeouts, retries and in-flight cap of remote calls are the `POLYEVAL_REMOTE_*` variables in',
    'the first table. A remote evaluator is another Polyeval server with the language enabled; it',
    'applies its own limits and ceilings, and its answer (including `limits`) is passed through.',
    '',
  );
  return lines.join('\n');
}
