// npm run new-language: scaffolds interpreters/<id>/ for a new language, touching nothing else: a
// manifest, an executor built on the host's worker pool, a runner, a README with the fixed sections,
// and one fixture stub per conformance case (each fails until written). The language is served at
// once (GET /v1/languages lists it) and the conformance suite shows it red until the runner and the
// fixtures are written. See docs/adding-a-language.md.
//
//   npm run new-language -- <id> [--template worker|wasi] [--name "<display name>"]
//                               [--extension <fixture extension>] [--package <npm package>]
//
// Templates:
//   worker  an interpreter compiled to WASM, hosted in a worker thread (like javascript)
//   wasi    a WASI command interpreter, run with an in-memory WASI (no files, env or sockets)

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { manifestSchema } from '../src/executor/manifest.js';
import { discoverLanguages } from '../src/executor/registry.js';
import { interpretersSourceDir, projectRoot } from '../src/paths.js';
import { STUB_MARKER } from './lib/conformance.js';
import { loadCases } from './lib/conformance-cases.js';

export const TEMPLATES = {
  worker: { files: ['executor.ts', 'runner.ts'], what: 'interpreter compiled to WASM hosted in a worker' },
  wasi: { files: ['executor.ts', 'runner.ts', 'wasi.ts'], what: 'WASI command interpreter' },
} as const;
export type TemplateKind = keyof typeof TEMPLATES;

export interface ScaffoldOptions {
  readonly id: string;
  readonly template: TemplateKind;
  readonly displayName?: string;
  readonly extension?: string;
  readonly enginePackage?: string;
}

const templatesDir = new URL('scripts/templates/', projectRoot);

function fill(text: string, values: Record<string, string>): string {
  return text.replace(/__([A-Z_]+)__/g, (match, key: string) => values[key] ?? match);
}

/** Writes interpreters/<id>/ and returns the files written (relative to the project root). */
export function scaffold(options: ScaffoldOptions): string[] {
  const { id, template } = options;
  const displayName = options.displayName ?? id.charAt(0).toUpperCase() + id.slice(1);
  const extension = options.extension ?? id.replace(/[^a-z0-9]/g, '');
  const manifest = {
    id,
    displayName,
    aliases: [],
    engine: {
      name: displayName,
      ...(options.enginePackage === undefined ? {} : { package: options.enginePackage }),
    },
    executor: 'executor.js',
    fixtureExtension: extension,
    codeFormat: 'source',
    codecs: [],
    limits: {},
    conformanceSkips: {},
  };
  const checked = manifestSchema.safeParse(manifest);
  if (!checked.success) {
    throw new Error(
      `Cannot scaffold "${id}": ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const taken = discoverLanguages().find((l) => l.manifest.id === id || l.manifest.aliases.includes(id));
  const dir = new URL(`${id}/`, interpretersSourceDir);
  if (taken !== undefined || existsSync(fileURLToPath(dir))) {
    throw new Error(
      `Cannot scaffold "${id}": interpreters/${id}/ or a language named "${id}" already exists`,
    );
  }
  const values = {
    ID: id,
    DISPLAY_NAME: displayName,
    TEMPLATE: template,
    WASI_ROW:
      template === 'wasi' ? '| `wasi.ts` | the in-memory WASI preview1 the command runs with |\n' : '',
  };
  const written: string[] = [];
  const write = (relative: string, text: string): void => {
    const url = new URL(relative, dir);
    mkdirSync(fileURLToPath(new URL('.', url)), { recursive: true });
    writeFileSync(fileURLToPath(url), text);
    written.push(`interpreters/${id}/${relative}`);
  };
  try {
    write('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
    for (const file of TEMPLATES[template].files) {
      write(
        file,
        fill(readFileSync(fileURLToPath(new URL(`${template}/${file}.tmpl`, templatesDir)), 'utf8'), values),
      );
    }
    write(
      'README.md',
      fill(readFileSync(fileURLToPath(new URL('README.md.tmpl', templatesDir)), 'utf8'), values),
    );
    for (const spec of loadCases()) {
      const args = JSON.stringify(spec.args, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
      const expected = JSON.stringify(spec.expect, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
      write(
        `conformance/${spec.name}.${extension}`,
        [
          `${STUB_MARKER}: write the ${displayName} code for this case, then replace this whole text.`,
          `Case ${spec.name}: ${spec.description}`,
          `Define ${spec.function}; it is called with ${args.length > 200 ? `${args.slice(0, 200)}…` : args}.`,
          `Expected: ${expected}`,
          ...(spec.limits === undefined ? [] : [`Limits: ${JSON.stringify(spec.limits)}`]),
          ...(spec.stdout === undefined ? [] : [`stdout: ${JSON.stringify(spec.stdout)}`]),
          ...(spec.stderr === undefined ? [] : [`stderr: ${JSON.stringify(spec.stderr)}`]),
          '',
        ].join('\n'),
      );
    }
  } catch (error) {
    rmSync(fileURLToPath(dir), { recursive: true, force: true });
    throw error;
  }
  return written;
}

function main(): number {
  const usage =
    'Usage: npm run new-language -- <id> [--template worker|wasi] [--name "<display name>"] [--extension <ext>] [--package <npm package>]';
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      options: {
        template: { type: 'string', short: 't', default: 'worker' },
        name: { type: 'string' },
        extension: { type: 'string' },
        package: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
  }
  try {
    parsed = parse();
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(
      `${usage}\n\nTemplates:\n${Object.entries(TEMPLATES)
        .map(([k, t]) => `  ${k.padEnd(7)} ${t.what}`)
        .join('\n')}`,
    );
    return 0;
  }
  const id = positionals[0];
  if (id === undefined || positionals.length > 1 || !Object.hasOwn(TEMPLATES, values.template)) {
    console.error(usage);
    return 2;
  }
  try {
    const files = scaffold({
      id,
      template: values.template as TemplateKind,
      ...(values.name === undefined ? {} : { displayName: values.name }),
      ...(values.extension === undefined ? {} : { extension: values.extension }),
      ...(values.package === undefined ? {} : { enginePackage: values.package }),
    });
    const fixtures = files.filter((f) => f.includes('/conformance/')).length;
    console.log(
      `Scaffolded interpreters/${id}/ (${values.template} template): ${files.length - fixtures} files and ${fixtures} fixture stubs.`,
    );
    console.log(
      `Next: npm run build && npm run conformance -- --language ${id}   (red until written; see docs/adding-a-language.md)`,
    );
    return 0;
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
}

// Runs only as a command, so that tests can import scaffold().
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1])
  process.exitCode = main();
