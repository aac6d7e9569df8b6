// The child process that turns a component into what the sandbox runs, at deploy time: decode the
// base64, read the root world's WIT (wasm-tools, for the export types), generate the glue with
// jco-transpile (instantiation mode: the glue imports nothing and takes its `wasi:*` imports as an
// object at run time), then validate, inspect and instrument every core module exactly as a raw
// module (instrument.ts: fuel, capped memory, bounded tables). Generation only: nothing generated
// is evaluated here. It is a separate process, started per job by transpiler.ts, because jco's
// bindgen and wasm-tools are large WebAssembly programs parsing hostile input whose memory a worker
// thread's resourceLimits do not count: the service watches this process's time and resident
// memory from outside and kills it past either limit.

import { createHash } from 'node:crypto';
import { BinaryFormatError } from '../binary.js';
import { inspectModule, instrumentModule, isComponent, ModuleRejected } from '../instrument.js';
import { parseWorldExports, type WorldExports } from './wit.js';

export interface TranspileRequest {
  readonly code: string;
  readonly tableElements: number;
  readonly maxInitialPages: number;
  readonly maxCoreModules: number;
}

export interface CoreModulePlan {
  readonly name: string;
  /** The module's own memory as declared (now imported from polyeval.memory), in pages. */
  readonly memory: { readonly initial: number; readonly maximum: number | null } | null;
  readonly hasStart: boolean;
}

export interface TranspiledComponent {
  readonly id: string;
  readonly bytes: number;
  readonly glue: string;
  readonly modules: readonly (CoreModulePlan & { readonly bytes: Uint8Array })[];
  readonly exports: WorldExports;
  readonly imports: readonly string[];
}

export type TranspileResponse =
  | { readonly ok: true; readonly component: TranspiledComponent; readonly ms: number }
  | {
      readonly ok: false;
      readonly code: 'SYNTAX_ERROR' | 'MEMORY_LIMIT';
      readonly message: string;
      readonly line?: number;
      readonly column?: number;
    };

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const CORE_NAME = /^component\.core\d*\.wasm$/;

function refuse(message: string, code: 'SYNTAX_ERROR' | 'MEMORY_LIMIT' = 'SYNTAX_ERROR'): never {
  throw Object.assign(new Error(message), { refusal: code });
}

async function transpile(request: TranspileRequest): Promise<TranspiledComponent> {
  let bytes: Uint8Array;
  if (/^\s*[(;]/.test(request.code)) {
    // Component text (`(component …)`): wasm-tools' own parser, as jco's CLI uses.
    const { parse } = await import('@bytecodealliance/jco-transpile/wasm-tools');
    try {
      bytes = await parse(request.code);
    } catch (error) {
      // wasm-tools answers with its error's debug form: "… Text { line: 1, col: 68, … }, …
      // kind: Custom(\"expected `(`\") …" (0-based): the reason, line and column are taken out.
      const text = error instanceof Error ? error.message : String(error);
      const at = /line: (\d+), col: (\d+)/.exec(text);
      const kind = /Custom\("((?:[^"\\]|\\.)*)"\)/.exec(text);
      const reason = kind?.[1] ?? firstLine(error);
      const line = at === null ? undefined : Number(at[1]) + 1;
      const column = at === null ? undefined : Number(at[2]) + 1;
      throw Object.assign(
        new Error(
          `Cannot compile the component text: ${reason.slice(0, 300)}${line === undefined ? '' : ` (line ${line}, column ${column})`}`,
        ),
        { refusal: 'SYNTAX_ERROR', ...(line === undefined ? {} : { line, column }) },
      );
    }
  } else {
    const compact = request.code.replace(/\s+/g, '');
    if (!BASE64.test(compact)) refuse('Cannot read the component: the code is not base64');
    bytes = new Uint8Array(
      Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64'),
    );
  }
  if (!isComponent(bytes)) refuse('Cannot read the component: it has no component header');
  const id = createHash('sha256').update(bytes).digest('hex');
  // Imported here, not at the top: the child reports its own start-up failures as messages.
  // The bindgen component itself (the package's "./component" entry), not its transpile() wrapper:
  // the wrapper loads oxc-minify, a native addon the permission model here refuses (and we never
  // minify); the options below are the ones transpile() would pass for instantiation mode.
  const bindgen = await import('@bytecodealliance/jco-transpile/component');
  const wasmTools = await import('@bytecodealliance/jco-transpile/wasm-tools');
  await bindgen.$init;
  let wit: string;
  try {
    wit = await wasmTools.componentWit(bytes);
  } catch (error) {
    refuse(`Cannot read the component: ${firstLine(error)}`);
  }
  const exports = parseWorldExports(wit);
  let generated: ReturnType<typeof bindgen.generate>;
  try {
    generated = bindgen.generate(bytes, {
      name: 'component',
      // The glue imports nothing: every wasi:* import is an object handed to instantiate().
      instantiation: { tag: 'sync' },
      map: [],
      noTypescript: true,
      // Every core module goes through getCoreModule (and so through instrumentation): none inlined.
      base64Cutoff: 0,
      tlaCompat: false,
      validLiftingOptimization: false,
      tracing: false,
      // A top-level result's err payload comes back as a ComponentError carrying it.
      noComponentErrorWrapping: false,
      noNodejsCompat: true,
      multiMemory: false,
      strict: false,
      asmjs: false,
    });
  } catch (error) {
    refuse(`Cannot transpile the component: ${firstLine(error)}`);
  }
  let glue: string | undefined;
  const modules: (CoreModulePlan & { bytes: Uint8Array })[] = [];
  for (const [name, content] of generated.files) {
    if (name === 'component.js') {
      glue = Buffer.from(content).toString('utf8');
      continue;
    }
    if (!CORE_NAME.test(name))
      refuse(`Cannot transpile the component: unexpected output file "${name.slice(0, 60)}"`);
    if (modules.length >= request.maxCoreModules)
      refuse(`Cannot accept the component: it has more than ${request.maxCoreModules} core modules`);
    const core = new Uint8Array(content);
    if (!WebAssembly.validate(core)) {
      try {
        new WebAssembly.Module(core);
      } catch (error) {
        refuse(`Cannot compile core module ${name} of the component: ${firstLine(error)}`);
      }
    }
    try {
      const info = inspectModule(core);
      checkCoreNames(name, info);
      const out = instrumentModule(core, info, {
        tableElements: request.tableElements,
        maxInitialPages: request.maxInitialPages,
      });
      modules.push({ name, bytes: out.bytes, memory: out.memory, hasStart: out.hasStart });
    } catch (error) {
      if (error instanceof ModuleRejected)
        refuse(
          `Cannot accept core module ${name} of the component: ${error.message}`,
          error.reason === 'memory' ? 'MEMORY_LIMIT' : 'SYNTAX_ERROR',
        );
      if (error instanceof BinaryFormatError)
        refuse(`Cannot read core module ${name} of the component: ${error.message}`);
      throw error;
    }
  }
  if (glue === undefined) refuse('Cannot transpile the component: no glue was generated');
  glue = checkGlueSlices(glue);
  return { id, bytes: bytes.length, glue, modules, exports, imports: generated.imports };
}

/**
 * What could end a string literal, template or comment of the glue. jco prints the names of core
 * imports and exports unescaped into quotes (`exports0['<name>']`), and the component model's
 * grammar checks only the component's own names: a core export named `x'];globalThis.p=1;//` ran
 * as code of the glue (found by the acceptance attack run). The confined host held (a glue finds
 * nothing there), but the generated code must stay jco's.
 */
const UNSAFE_NAME = /['"`\\\u0000-\u001f\u007f\u2028\u2029]|\$\{|\*\/|\/\*/;

/** Refuses a core module whose import or export names could break out of the glue's quotes. */
function checkCoreNames(file: string, info: ReturnType<typeof inspectModule>): void {
  const names = [...info.imports.flatMap((i) => [i.module, i.name]), ...info.exports.map((e) => e.name)];
  for (const n of names) {
    if (UNSAFE_NAME.test(n)) {
      refuse(
        `Cannot accept core module ${file} of the component: the name ${JSON.stringify(n.slice(0, 60))} holds a quote, backslash, line break or comment mark, which the glue would carry unescaped`,
      );
    }
  }
}

/** What every slice of a guest memory in the glue goes through (checkGlueSlices). */
const CHECKED_SLICE = `function polyeval$checkedSlice(buffer, start, end) {
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= buffer.byteLength)) {
    throw new WebAssembly.RuntimeError(\`a list of \${end - start} bytes at \${start} lies outside the memory of \${buffer.byteLength} bytes\`);
  }
  return buffer.slice(start, end);
}
`;

/**
 * jco's glue lifts a list of numbers as `new Uint32Array(memory0.buffer.slice(ptr, ptr + len * 4))`,
 * and ArrayBuffer.prototype.slice clamps its bounds where the canonical ABI traps: a list whose
 * pointer or length lies past the guest's memory came back as a shorter list (an empty one for a
 * pointer past the end), where it must trap. Every slice of a memory buffer in the
 * glue is made a checked one, and a glue with a slice of another form is refused rather than run.
 * (The glue's other reads, `new Uint8Array(buffer, ptr, len)` and DataView accessors, throw when
 * out of bounds.) The helper's name has a `$`, which no name jco derives from WIT can.
 */
export function checkGlueSlices(glue: string): string {
  if (glue.includes('polyeval$')) refuse('Cannot transpile the component: its glue uses a reserved name');
  // A memory named by an identifier or a member chain (memory0, exports0.memory), nothing else.
  const checked = glue.replace(
    /(?<![\w$.\])\]])((?:[A-Za-z_][\w]*\.)*[A-Za-z_][\w]*)\.buffer\.slice\(/g,
    (_m, memory: string) => `polyeval$checkedSlice(${memory}.buffer, `,
  );
  if (/\.\s*buffer\s*\.\s*slice\b/.test(checked))
    refuse('Cannot transpile the component: its glue slices a memory in a form not recognised');
  return `${CHECKED_SLICE}${checked}`;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? '').slice(0, 300);
}

process.once('message', (request: TranspileRequest) => {
  const started = performance.now();
  transpile(request).then(
    (component) => {
      process.send?.(
        { ok: true, component, ms: performance.now() - started } satisfies TranspileResponse,
        () => process.exit(0),
      );
    },
    (error: unknown) => {
      const {
        refusal: code,
        line,
        column,
      } = error as {
        refusal?: 'SYNTAX_ERROR' | 'MEMORY_LIMIT';
        line?: number;
        column?: number;
      };
      const message =
        code !== undefined ? (error as Error).message : `Cannot transpile the component: ${firstLine(error)}`;
      process.send?.(
        {
          ok: false,
          code: code ?? 'SYNTAX_ERROR',
          message,
          ...(line === undefined ? {} : { line }),
          ...(column === undefined ? {} : { column }),
        } satisfies TranspileResponse,
        () => process.exit(0),
      );
    },
  );
});
