// The wasm executor's compile worker: turns the `code` of a call or a deployment into a compiled,
// instrumented WebAssembly.Module, off the service's event loop. Steps: decode (base64 binary or
// .wat text through wabt), validate with V8 (its message is the SYNTAX_ERROR), refuse imports
// outside WASI preview1, optionally optimize with binaryen, instrument (instrument.ts), compile.
// wabt and binaryen are Emscripten builds that parse hostile input: they run here, in a thread the
// host can terminate at a time limit and replaces after any failure, never in the main thread.

import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { BinaryFormatError } from './binary.js';
import {
  checkImports,
  type FuncType,
  functionType,
  inspectModule,
  instrumentModule,
  isComponent,
  ModuleRejected,
} from './instrument.js';
import type {
  CompileFailure,
  CompileRequest,
  CompileResponse,
  ModuleSummary,
  OptimizeLevel,
} from './protocol.js';
import { WASI_MODULE } from './wasi-surface.js';

type WabtModule = Awaited<ReturnType<typeof import('wabt')>>;
type Binaryen = typeof import('binaryen').default;

let wabt: Promise<WabtModule> | undefined;
let binaryen: Promise<Binaryen> | undefined;

function loadWabt(): Promise<WabtModule> {
  // wabt is CommonJS (`export =`): its factory is the default export of the ESM namespace.
  wabt ??= import('wabt').then((m) => (m as unknown as { default: () => Promise<WabtModule> }).default());
  return wabt;
}

function loadBinaryen(): Promise<Binaryen> {
  binaryen ??= import('binaryen').then((m) => m.default);
  return binaryen;
}

/** A failure to hand back; `recycle` when the tool that failed may be left in a bad state. */
class Failure extends Error {
  constructor(
    readonly failure: CompileFailure,
    readonly recycle = false,
  ) {
    super(failure.message);
  }
}

const syntax = (message: string, extra: Partial<CompileFailure> = {}): Failure =>
  new Failure({ code: 'SYNTAX_ERROR', message, ...extra });

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function looksLikeText(code: string): boolean {
  return /^\s*(\(|;;|\(;)/.test(code);
}

const WAT_FEATURES = {
  exceptions: true,
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  simd: true,
  threads: true,
  function_references: true,
  multi_value: true,
  tail_call: true,
  bulk_memory: true,
  reference_types: true,
  annotations: true,
  gc: true,
  extended_const: true,
  relaxed_simd: true,
};

type Bytes = Uint8Array<ArrayBuffer>;

async function watToBinary(text: string): Promise<Bytes> {
  const tools = await loadWabt();
  let parsed: ReturnType<WabtModule['parseWat']> | undefined;
  try {
    // As bytes: given a string, wabt's wrapper keeps only the low byte of each UTF-16 unit,
    // which garbles non-ASCII text in data segments and names.
    parsed = tools.parseWat('module.wat', new TextEncoder().encode(text), WAT_FEATURES);
    parsed.resolveNames();
    parsed.validate();
    return new Uint8Array(parsed.toBinary({ write_debug_names: true }).buffer);
  } catch (error) {
    const raw = error instanceof Error ? error.message : String(error);
    // "parseWat failed:\nmodule.wat:2:23: error: unexpected token blah, expected ).\n<source>\n   ^^^^"
    const match = /module\.wat:(\d+):(\d+): error: ([^\n]*)/.exec(raw);
    if (match !== null) {
      throw syntax(`Cannot compile the module text: ${match[3]} (line ${match[1]}, column ${match[2]})`, {
        line: Number(match[1]),
        column: Number(match[2]),
      });
    }
    throw new Failure(
      { code: 'SYNTAX_ERROR', message: `Cannot compile the module text: ${raw.split('\n')[0]}` },
      true,
    );
  } finally {
    parsed?.destroy();
  }
}

function decode(
  code: string,
): { bytes: Bytes; source: 'binary' | 'text' } | Promise<{ bytes: Bytes; source: 'text' }> {
  if (!looksLikeText(code)) {
    const compact = code.replace(/\s+/g, '');
    if (compact.length > 0 && BASE64.test(compact)) {
      const buffer = Buffer.from(
        compact,
        compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64',
      );
      // A fresh Uint8Array: slices of Node's pooled Buffers cannot be transferred (Node 24).
      return { bytes: new Uint8Array(buffer), source: 'binary' };
    }
  }
  return watToBinary(code).then((bytes) => ({ bytes, source: 'text' as const }));
}

function validate(bytes: Bytes, what: string): void {
  if (WebAssembly.validate(bytes)) return;
  try {
    new WebAssembly.Module(bytes);
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).replace(
      /^WebAssembly\.Module\(\): /,
      '',
    );
    throw syntax(`Cannot compile ${what}: ${message}`);
  }
  throw syntax(`Cannot compile ${what}: it is not valid WebAssembly`);
}

async function optimize(bytes: Bytes, level: OptimizeLevel): Promise<Bytes> {
  const b = await loadBinaryen();
  const module = b.readBinary(bytes);
  try {
    module.setFeatures(b.Features.All);
    const optimizeLevel = level === 'Os' || level === 'Oz' ? 2 : Number(level.slice(1));
    b.setOptimizeLevel(optimizeLevel);
    b.setShrinkLevel(level === 'Os' ? 1 : level === 'Oz' ? 2 : 0);
    b.setDebugInfo(true); // keep function names for stack traces
    module.optimize();
    if (!module.validate()) throw new Error('binaryen produced an invalid module');
    return new Uint8Array(module.emitBinary());
  } finally {
    module.dispose();
  }
}

async function compile(request: CompileRequest): Promise<CompileResponse> {
  const started = performance.now();
  const decoded = await decode(request.code);
  const original = decoded.bytes;
  if (isComponent(original)) {
    throw syntax(
      // Components take their own path (component/) when the executor recognises the header in
      // the code's first characters; one that reaches this worker came in a form it did not.
      'Cannot compile the module: it is a WebAssembly component in a form not recognised as one (send the base64 of its binary, or its text starting with "(component")',
    );
  }
  validate(original, 'the module');
  const id = createHash('sha256').update(original).digest('hex');
  let info = inspectModule(original);
  checkImports(info);

  let bytes = original;
  let optimizedSize: number | undefined;
  let optimizeSkipped: string | undefined;
  if (request.optimize !== null) {
    try {
      const optimized = await optimize(original, request.optimize);
      validate(optimized, 'the optimized module');
      const optimizedInfo = inspectModule(optimized);
      checkImports(optimizedInfo);
      bytes = optimized;
      info = optimizedInfo;
      optimizedSize = optimized.length;
    } catch (error) {
      optimizeSkipped = error instanceof Error ? error.message : String(error);
      // binaryen may be left in a bad state after an abort: start this worker afresh later.
      binaryen = undefined;
    }
  }

  const instrumented = instrumentModule(bytes, info, {
    tableElements: request.tableElements,
    maxInitialPages: request.maxInitialPages,
  });
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(instrumented.bytes);
  } catch (error) {
    throw new Failure({
      code: 'SYNTAX_ERROR',
      message: `Cannot compile the module: the sandbox could not instrument it (${error instanceof Error ? error.message : String(error)})`,
    });
  }

  const functions: Record<string, FuncType> = {};
  for (const e of info.exports) {
    if (e.kind !== 'function') continue;
    const type = functionType(info, e.index);
    if (type !== null) functions[e.name] = type;
  }
  const summary: ModuleSummary = {
    id,
    source: decoded.source,
    functions,
    command: '_start' in functions,
    reactor: '_initialize' in functions,
    wasiImports: info.imports.filter((i) => i.module === WASI_MODULE).map((i) => i.name),
    memory: instrumented.memory,
    hasStart: instrumented.hasStart,
    sizes: {
      original: original.length,
      ...(optimizedSize === undefined ? {} : { optimized: optimizedSize }),
      instrumented: instrumented.bytes.length,
    },
    optimize: optimizedSize === undefined ? null : request.optimize,
    ...(optimizeSkipped === undefined ? {} : { optimizeSkipped }),
    loops: instrumented.loops,
    growSites: instrumented.growSites,
    compileMs: performance.now() - started,
  };
  return { kind: 'compiled', id: request.id, result: { module, summary } };
}

function toFailure(error: unknown): Failure {
  if (error instanceof Failure) return error;
  if (error instanceof ModuleRejected) {
    const code = error.reason === 'memory' || error.reason === 'table' ? 'MEMORY_LIMIT' : 'SYNTAX_ERROR';
    const reason = error.message.charAt(0).toLowerCase() + error.message.slice(1);
    return new Failure({ code, message: `Cannot register the module: ${reason}` });
  }
  if (error instanceof BinaryFormatError) {
    return new Failure({ code: 'SYNTAX_ERROR', message: `Cannot read the module: ${error.message}` });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new Failure({ code: 'SYNTAX_ERROR', message: `Cannot compile the module: ${message}` }, true);
}

const port = parentPort;
if (port === null) throw new Error('compile-worker.ts must run in a worker thread');

// Jobs run one at a time, in order: wabt and binaryen are not re-entrant.
let queue: Promise<void> = Promise.resolve();
port.on('message', (request: CompileRequest) => {
  queue = queue.then(async () => {
    let response: CompileResponse;
    try {
      response = await compile(request);
    } catch (error) {
      const failure = toFailure(error);
      response = { kind: 'failed', id: request.id, error: failure.failure, recycle: failure.recycle };
    }
    port.postMessage(response);
  });
});
port.postMessage({ kind: 'ready' } satisfies CompileResponse);
