// The spawn plan of a sandbox host (process-isolation.ts) and the pure parts of the Pyodide
// plumbing (engine.ts): no processes or interpreters are started here.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  patchMemoryMaximum,
  rewriteGlue,
  SPARSE_PAGE,
  toSparse,
  WASM_PAGE,
} from '../../interpreters/python/engine.js';
import { exportHiddenState, STATE_EXPORT_PREFIX } from '../../interpreters/python/reset.js';
import {
  disposeWorkDir,
  PROTECTIONS,
  parseIsolationMode,
  planSandboxSpawn,
  probeNamespaces,
} from '../../src/executor/host/process-isolation.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('isolation settings', () => {
  it('parses required | auto | off and refuses anything else', () => {
    expect(parseIsolationMode(undefined)).toBe('auto');
    expect(parseIsolationMode('REQUIRED')).toBe('required');
    expect(parseIsolationMode('off')).toBe('off');
    expect(() => parseIsolationMode('maybe')).toThrow(/required, auto, off/);
  });

  it('plans a locked-down node: permission model, reads only, no spawn, no code generation', () => {
    const plan = planSandboxSpawn({
      entry: '/x/host.js',
      readPaths: ['/x/dir/', '/x/file.bin'],
      allowWorkers: true,
      mode: 'off',
    });
    try {
      expect(plan.command).toBe(process.execPath);
      expect(plan.args).toContain('--disallow-code-generation-from-strings');
      expect(plan.args).toContain('--allow-fs-read=/x/dir/*');
      expect(plan.args).toContain('--allow-fs-read=/x/file.bin');
      expect(plan.args).toContain('--allow-worker');
      expect(plan.args.some((a) => a.startsWith('--allow-fs-write'))).toBe(false);
      expect(
        plan.args.some((a) => a.startsWith('--allow-child-process') || a.startsWith('--allow-addons')),
      ).toBe(false);
      expect(plan.args.some((a) => a === '--permission' || a === '--experimental-permission')).toBe(true);
      expect(plan.facts).toMatchObject({ network: 'host', permissionModel: true, confinement: 'none' });
      expect(plan.facts.warning).toBeDefined();
    } finally {
      disposeWorkDir(plan.cwd);
    }
  });

  it('uses the full OS layer where the OS allows it, and refuses to start without it when required', () => {
    const probe = probeNamespaces();
    const auto = planSandboxSpawn({ entry: '/x/host.js', readPaths: [], allowWorkers: false, mode: 'auto' });
    disposeWorkDir(auto.cwd);
    const complete = PROTECTIONS.every((p) => auto.facts.protections[p]);
    if (complete) {
      const plan = planSandboxSpawn({
        entry: '/x/host.js',
        readPaths: [`${here}/`],
        allowWorkers: false,
        mode: 'required',
      });
      disposeWorkDir(plan.cwd);
      expect('unshare' in probe).toBe(true);
      expect(plan.facts.confinement).toBe('bubblewrap');
      expect(plan.args).toEqual(expect.arrayContaining(['--unshare-net', '--unshare-pid', '--seccomp']));
      // What the permission model grants is what the mount namespace shows, read-only.
      const line = plan.args.join(' ');
      // uid 65534 in a user namespace, or (root, private project folder) setpriv dropping to it.
      expect(line).toMatch(/--unshare-user --uid 65534|setpriv --reuid=65534/);
      expect(line).toContain(`--ro-bind ${here} ${here}`);
      expect(line).not.toMatch(/--bind /);
      expect(plan.facts).toMatchObject({ network: 'namespace', pidNamespace: true, missing: {} });
      expect(plan.facts.warning).toBeUndefined();
    } else {
      expect(auto.facts.warning).toMatch(/runs without/);
      expect(() =>
        planSandboxSpawn({ entry: '/x/host.js', readPaths: [], allowWorkers: false, mode: 'required' }),
      ).toThrow(/isolation mode=required but \w+ is missing/);
    }
  });
});

describe('engine plumbing', () => {
  const pyodideDir = `${dirname(createRequire(import.meta.url).resolve('pyodide/package.json'))}/`;

  // mutation: interpreters/python/engine.ts patchMemoryMaximum() writing the old maximum (or none)
  // instead of maxPages → the read-back maximum and the refused grow fail these two tests.
  it('patches a memory maximum that the engine then enforces', () => {
    // (module (memory (export "m") 1 10)), by hand: the smallest module whose memory can be grown.
    const small = Uint8Array.from([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x04, 0x01, 0x01, 0x01, 0x0a, 0x07, 0x05, 0x01,
      0x01, 0x6d, 0x02, 0x00,
    ]);
    const memory = (binary: Uint8Array<ArrayBuffer>) =>
      new WebAssembly.Instance(new WebAssembly.Module(binary)).exports.m as WebAssembly.Memory;
    expect(memory(small).grow(5)).toBe(1);
    const capped = memory(patchMemoryMaximum(small, 3));
    expect(capped.grow(2)).toBe(1);
    expect(() => capped.grow(1)).toThrow(RangeError);
    expect(() => patchMemoryMaximum(small, 0)).toThrow(/below its minimum/);
  });

  it("patches Pyodide's memory maximum, read back from the patched module", async () => {
    const binary = readFileSync(`${pyodideDir}pyodide.asm.wasm`);
    const patched = patchMemoryMaximum(binary, 2048);
    expect(WebAssembly.validate(patched)).toBe(true);
    // binaryen reads the module independently of the patcher's own section walk.
    const binaryen = (await import('binaryen')).default;
    const read = (bytes: Uint8Array) => {
      const module = binaryen.readBinary(bytes);
      try {
        return module.getMemoryInfo();
      } finally {
        module.dispose();
      }
    };
    const info = read(patched);
    expect(info.initial).toBeGreaterThan(0);
    expect(info.max).toBe(2048);
    expect(2048 * WASM_PAGE).toBe(128 * 2 ** 20);
    expect(() => patchMemoryMaximum(binary, info.initial - 1)).toThrow(/below its minimum/);
  }, 60_000);

  // mutation: reset.ts exportHiddenState() skipping the table section (or the mutable globals) →
  // the hidden externref tables (or globals) are missing from the exports and this test fails.
  it("exports every mutable global and table of Pyodide's module, the hidden ones too", () => {
    const binary = readFileSync(`${pyodideDir}pyodide.asm.wasm`);
    const before = WebAssembly.Module.exports(new WebAssembly.Module(binary));
    const { binary: patched, added } = exportHiddenState(patchMemoryMaximum(binary, 2048));
    const module = new WebAssembly.Module(patched);
    const exports = WebAssembly.Module.exports(module);
    const ours = exports.filter((e) => e.name.startsWith(STATE_EXPORT_PREFIX));
    expect(ours.map((e) => e.name)).toEqual(added);
    // The function table and two externref tables (hiwire) that the module does not export.
    expect(ours.filter((e) => e.kind === 'table')).toHaveLength(3);
    expect(before.filter((e) => e.kind === 'table')).toHaveLength(1);
    // The stack pointer and the other mutable globals; nothing else changed.
    expect(ours.filter((e) => e.kind === 'global').length).toBeGreaterThanOrEqual(1);
    expect(exports.length).toBe(before.length + added.length);
    expect(WebAssembly.Module.imports(module)).toEqual(
      WebAssembly.Module.imports(new WebAssembly.Module(binary)),
    );
  }, 60_000);

  it('splits a snapshot into non-zero runs that rebuild it exactly', () => {
    const header = new Uint8Array(64);
    new Uint32Array(header.buffer)[1] = 64;
    const image = new Uint8Array(SPARSE_PAGE * 10 + 100);
    image[5] = 1;
    image[SPARSE_PAGE * 3 + 7] = 2;
    image[SPARSE_PAGE * 4] = 3;
    image[image.length - 1] = 4;
    const snapshot = new Uint8Array(64 + image.length);
    snapshot.set(header);
    snapshot.set(image, 64);
    const sparse = toSparse(snapshot);
    expect(sparse.memoryBytes).toBe(image.length);
    expect(sparse.data.length).toBeLessThan(image.length / 2);
    const rebuilt = new Uint8Array(image.length);
    let o = 0;
    for (let i = 0; i < sparse.runs.length; i += 2) {
      rebuilt.set(sparse.data.subarray(o, o + sparse.runs[i + 1]!), sparse.runs[i]!);
      o += sparse.runs[i + 1]!;
    }
    expect(rebuilt).toEqual(image);
  });

  it('rewrites the installed glue (default export, import.meta, imports, GOT)', () => {
    const url = `file://${pyodideDir}pyodide.asm.mjs`;
    const glue = rewriteGlue(readFileSync(`${pyodideDir}pyodide.asm.mjs`, 'utf8'), url);
    expect(glue.source).not.toContain('import.meta');
    expect(glue.source).not.toMatch(/await import\(/);
    expect(glue.patches).toContain('updateGOT: only imported GOT entries');
  });
});
