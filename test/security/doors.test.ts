// Doors, not walls: docs/security.md lists, per language, every host function or import a guest
// can call (## Doors). Each test here enumerates the doors from the running code and compares the
// set with the table, so that a door added without a row (or a row whose door is gone) fails.
//   JavaScript: a real sandbox (the executor's worker) reports the globals it has beyond a bare
//     QuickJS context of the same build, and the host functions on them.
//   Lua: the import objects handed to `new WebAssembly.Instance` while a Lua VM is built.
//   WebAssembly: the import object of the in-memory WASI, which must also be exactly the surface
//     the import check admits.
//   WebAssembly components: the wasi:* import object the in-memory WASI preview2 hands a
//     component's glue, which must equal COMPONENT_WASI_DOORS (reasons included).

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import variantExport from '@jitl/quickjs-wasmfile-release-sync';
import { newQuickJSWASMModuleFromVariant, type QuickJSSyncVariant } from 'quickjs-emscripten-core';
import { describe, expect, it } from 'vitest';
import { LuaVm } from '../../interpreters/lua/lua-vm.js';
import { importMemory } from '../../interpreters/lua/memory-import.js';
import {
  componentWasiDoors,
  createComponentWasi,
  documentedComponentWasiDoors,
} from '../../interpreters/wasm/component/wasi-p2/index.js';
import { Wasi } from '../../interpreters/wasm/wasi.js';
import { WASI_FUNCTIONS, WASI_MODULE } from '../../interpreters/wasm/wasi-surface.js';
import { startExecutor } from '../../scripts/lib/executor.js';

const require = createRequire(import.meta.url);
const SECURITY_MD = new URL('../../docs/security.md', import.meta.url);

/** The first-column names (in backquotes) of the table under `### <heading>`, with their reasons. */
function doorsTable(heading: string): Map<string, string> {
  const text = readFileSync(SECURITY_MD, 'utf8');
  const start = text.indexOf(`\n### ${heading}\n`);
  expect(start, `docs/security.md has a "### ${heading}" section`).toBeGreaterThan(0);
  const rest = text.slice(start + heading.length + 6);
  const end = rest.search(/\n#{2,3} /);
  const rows = new Map<string, string>();
  for (const line of (end < 0 ? rest : rest.slice(0, end)).split('\n')) {
    const match = /^\| `([^`]+)` \| (.+) \|$/.exec(line.trim());
    if (match === null) continue;
    expect(rows.has(match[1]!), `${match[1]} is listed once`).toBe(false);
    expect(match[2]!.trim().length, `${match[1]} has a reason`).toBeGreaterThan(10);
    rows.set(match[1]!, match[2]!);
  }
  return rows;
}

const sorted = (names: Iterable<string>): string[] => [...names].sort();

describe('doors: each language table in docs/security.md equals what the code hands the guest', () => {
  it('JavaScript: the host functions the runner installs in QuickJS', { timeout: 60_000 }, async () => {
    // The bare engine: a context of the same QuickJS build with nothing installed.
    const engine = await newQuickJSWASMModuleFromVariant(variantExport as unknown as QuickJSSyncVariant);
    const bare = engine.newContext();
    const names = bare.unwrapResult(bare.evalCode('Object.getOwnPropertyNames(globalThis)'));
    const bareGlobals = new Set(bare.dump(names) as string[]);
    names.dispose();
    bare.dispose();

    // The sandbox as a call sees it. `main` is the user's own; every other extra global is ours.
    const code = `function main() {
      const extra = Object.getOwnPropertyNames(globalThis).filter((n) => n !== 'main');
      const out = {};
      for (const name of extra) {
        const value = globalThis[name];
        out[name] = typeof value === 'function' ? ['function'] :
          value !== null && typeof value === 'object'
            ? Object.getOwnPropertyNames(value).map((k) => k + ':' + typeof value[k]) : [typeof value];
      }
      return out;
    }`;
    const executor = await startExecutor('javascript');
    try {
      const result = await executor.execute(
        {
          code,
          function: 'main',
          args: [],
          limits: { timeoutMs: 10_000, memoryMb: 64, outputBytes: 1_000_000 },
        },
        {},
      );
      expect(result.ok, JSON.stringify(result)).toBe(true);
      const globals = (result as { value: Record<string, string[]> }).value;
      const added = Object.keys(globals).filter((n) => !bareGlobals.has(n));
      expect(added, 'globals the runner adds to a bare context').toEqual(['console']);
      const members = globals.console!;
      expect(
        members.every((m) => m.endsWith(':function')),
        members.join(', '),
      ).toBe(true);
      const doors = members.map((m) => `console.${m.slice(0, m.indexOf(':'))}`);
      // A Wikifunctions ("zobject" codec) call has one more door, Wikifunctions.Call (reentrance);
      // ZPair and ZObject are classes written in JavaScript inside the guest, not host functions.
      const zobject = await executor.execute(
        {
          code,
          function: 'main',
          args: [],
          codec: 'zobject',
          limits: { timeoutMs: 10_000, memoryMb: 64, outputBytes: 1_000_000 },
        },
        {},
      );
      expect(zobject.ok, JSON.stringify(zobject)).toBe(true);
      const zGlobals = (zobject as { value: Map<string, unknown> | Record<string, string[]> }).value;
      const zEntries = zGlobals instanceof Map ? [...zGlobals.entries()] : Object.entries(zGlobals);
      const zAdded = zEntries
        .map(([n]) => String(n))
        .filter((n) => !bareGlobals.has(n) && !Object.hasOwn(globals, n));
      expect(sorted(zAdded), 'globals a zobject call adds').toEqual(['Wikifunctions', 'ZObject', 'ZPair']);
      const wf = zEntries.find(([n]) => n === 'Wikifunctions')?.[1] as unknown[];
      for (const member of wf) {
        const text = String(member);
        expect(text.endsWith(':function'), text).toBe(true);
        doors.push(`Wikifunctions.${text.slice(0, text.indexOf(':'))}`);
      }
      expect(sorted(doorsTable('JavaScript doors').keys())).toEqual(sorted(doors));
    } finally {
      await executor.close();
    }
  });

  it('Lua: the import objects given to WebAssembly.Instance when a VM is built', async () => {
    const original = await readFile(require.resolve('wasmoon/dist/glue.wasm'));
    const { bytes, memory: shape } = importMemory(original);
    const module = await WebAssembly.compile(bytes);
    const memory = new WebAssembly.Memory({ initial: shape.initialPages, maximum: shape.initialPages + 256 });
    const given: WebAssembly.Imports[] = [];
    const Instance = WebAssembly.Instance;
    // Records every import object, then instantiates as before.
    WebAssembly.Instance = class extends Instance {
      constructor(m: WebAssembly.Module, imports?: WebAssembly.Imports) {
        given.push(imports ?? {});
        super(m, imports);
      }
    } as typeof WebAssembly.Instance;
    try {
      new LuaVm(module, memory);
    } finally {
      WebAssembly.Instance = Instance;
    }
    const doors: string[] = [];
    for (const imports of given) {
      for (const [moduleName, members] of Object.entries(imports)) {
        for (const [name, value] of Object.entries(members)) {
          if (typeof value === 'function') doors.push(`${moduleName}.${name}`);
          else
            expect(value, `${moduleName}.${name} is the memory, the only non-function import`).toBe(memory);
        }
      }
    }
    // Every door is one the module actually imports (no dead doors), except the hook trampoline's.
    const imported = new Set(
      WebAssembly.Module.imports(module)
        .filter((i) => i.kind === 'function')
        .map((i) => `${i.module}.${i.name}`),
    );
    expect(sorted(doors.filter((d) => !imported.has(d)))).toEqual(['e.f']);
    expect(sorted(imported)).toEqual(sorted(doors.filter((d) => d !== 'e.f')));
    expect(sorted(doorsTable('Lua doors').keys())).toEqual(sorted(doors));
  });

  it('WebAssembly: the WASI import object, equal to the surface the import check admits', () => {
    const imports = new Wasi().imports;
    const doors = Object.keys(imports).map((name) => `${WASI_MODULE}.${name}`);
    for (const name of Object.keys(imports)) expect(typeof imports[name]).toBe('function');
    expect(sorted(Object.keys(imports))).toEqual(sorted(Object.keys(WASI_FUNCTIONS)));
    expect(sorted(doorsTable('WebAssembly doors').keys())).toEqual(sorted(doors));
  });

  it('WebAssembly components: the wasi:* import object of the in-memory WASI preview2', () => {
    const { imports } = createComponentWasi({
      stdin: new Uint8Array(0),
      writeStdout: () => {},
      writeStderr: () => {},
    });
    // Every member is a function or a resource class: nothing else reaches the glue.
    for (const [name, members] of Object.entries(imports)) {
      for (const [member, value] of Object.entries(members)) {
        expect(typeof value, `${name}.${member}`).toBe('function');
      }
    }
    const doors = componentWasiDoors(imports);
    const documented = documentedComponentWasiDoors();
    expect(sorted(documented.keys())).toEqual(sorted(doors));
    const table = doorsTable('WebAssembly component doors');
    expect(sorted(table.keys())).toEqual(sorted(doors));
    for (const [door, reason] of documented) expect(table.get(door), door).toBe(reason);
  });

  it('Python has its heading (its table is the Python doors work)', () => {
    expect(readFileSync(SECURITY_MD, 'utf8')).toMatch(/\n### Python doors\n/);
  });
});
