// The host's only way into a Python interpreter once its import gate is closed (engine.ts
// ImportGate): exported CPython C API functions and linear memory, never Pyodide's JS FFI (PyProxy,
// pyimport, toJs), whose imports are closed by then. Strings go in as UTF-8 (or UTF-16 with
// surrogatepass when the JS string holds a lone surrogate) and come back as UTF-8.

/** The exports this file uses; all are part of CPython's C API or the C library. */
interface CApi {
  readonly memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(ptr: number): void;
  Py_DecRef(object: number): void;
  PyErr_Clear(): void;
  PyImport_ImportModule(name: number): number;
  PyObject_GetAttrString(object: number, name: number): number;
  PyObject_Vectorcall(callable: number, args: number, nargsf: number, kwnames: number): number;
  PyUnicode_FromStringAndSize(utf8: number, size: number): number;
  PyUnicode_DecodeUTF16(data: number, size: number, errors: number, byteorder: number): number;
  PyUnicode_AsUTF8AndSize(object: number, size: number): number;
  PyLong_FromDouble(value: number): number;
}

const NAMES = [
  'malloc',
  'free',
  'Py_DecRef',
  'PyErr_Clear',
  'PyImport_ImportModule',
  'PyObject_GetAttrString',
  'PyObject_Vectorcall',
  'PyUnicode_FromStringAndSize',
  'PyUnicode_DecodeUTF16',
  'PyUnicode_AsUTF8AndSize',
  'PyLong_FromDouble',
] as const;

/** String.prototype.isWellFormed (Node 20+; the project's TypeScript lib predates it). */
interface WellFormed {
  isWellFormed(): boolean;
}

/** A Python value the host can pass: a str, or an int (a JS number, integral, up to 2^53). */
export type DirectArg = string | number;

/** Raised when Python itself failed (an exception escaped, or an allocation failed). */
export class DirectCallError extends Error {
  override name = 'DirectCallError';
}

export class DirectCaller {
  private readonly c: CApi;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  constructor(exports: WebAssembly.Exports) {
    const c: Record<string, unknown> = { memory: exports.memory };
    for (const name of NAMES) {
      const fn = exports[name];
      if (typeof fn !== 'function')
        throw new Error(`Cannot call Python directly: the module does not export ${name}`);
      c[name] = fn;
    }
    this.c = c as unknown as CApi;
  }

  /** A new reference to `module.attribute` (imports the module); kept for the interpreter's life. */
  lookup(module: string, attribute: string): number {
    const name = this.cString(module);
    const attr = this.cString(attribute);
    try {
      const mod = this.c.PyImport_ImportModule(name) >>> 0;
      if (mod === 0) this.fail(`Cannot import ${module}`);
      const value = this.c.PyObject_GetAttrString(mod, attr) >>> 0;
      this.c.Py_DecRef(mod);
      if (value === 0) this.fail(`Cannot find ${module}.${attribute}`);
      return value;
    } finally {
      this.c.free(name);
      this.c.free(attr);
    }
  }

  /** Calls `callable(*args)`, which must return a str; returns it. */
  callForString(callable: number, args: readonly DirectArg[]): string {
    const result = this.call(callable, args);
    try {
      return this.stringOf(result);
    } finally {
      this.c.Py_DecRef(result);
    }
  }

  /** Calls `callable(*args)`; returns a new reference to the result. */
  call(callable: number, args: readonly DirectArg[]): number {
    const c = this.c;
    const objects: number[] = [];
    const argv = this.alloc(4 * Math.max(1, args.length));
    try {
      for (const arg of args) {
        const object = (typeof arg === 'string' ? this.pyString(arg) : c.PyLong_FromDouble(arg)) >>> 0;
        if (object === 0) this.fail('Cannot pass an argument to Python');
        objects.push(object);
      }
      new Uint32Array(c.memory.buffer, argv, objects.length).set(objects);
      const result = c.PyObject_Vectorcall(callable, argv, objects.length, 0) >>> 0;
      if (result === 0) this.fail('The Python call raised an exception');
      return result;
    } finally {
      for (const object of objects) c.Py_DecRef(object);
      c.free(argv);
    }
  }

  /** The text of a Python str object. */
  stringOf(object: number): string {
    const size = this.alloc(4);
    try {
      const data = this.c.PyUnicode_AsUTF8AndSize(object, size) >>> 0;
      if (data === 0) this.fail('The Python call did not return a str');
      const length = new Uint32Array(this.c.memory.buffer, size, 1)[0]!;
      return this.decoder.decode(new Uint8Array(this.c.memory.buffer, data, length));
    } finally {
      this.c.free(size);
    }
  }

  /** Drops a reference the caller holds. */
  release(object: number): void {
    this.c.Py_DecRef(object);
  }

  private pyString(text: string): number {
    const c = this.c;
    if (!(text as unknown as WellFormed).isWellFormed()) {
      // A lone surrogate: UTF-8 cannot carry it; Python's str can (surrogatepass keeps it).
      const bytes = text.length * 2;
      const data = this.alloc(bytes || 1);
      const errors = this.cString('surrogatepass');
      const order = this.alloc(4);
      try {
        const view = new Uint16Array(c.memory.buffer, data, text.length);
        for (let i = 0; i < text.length; i++) view[i] = text.charCodeAt(i);
        new Int32Array(c.memory.buffer, order, 1)[0] = -1; // little-endian
        return c.PyUnicode_DecodeUTF16(data, bytes, errors, order);
      } finally {
        c.free(data);
        c.free(errors);
        c.free(order);
      }
    }
    const max = text.length * 3;
    const data = this.alloc(max || 1);
    try {
      const { written } = this.encoder.encodeInto(text, new Uint8Array(c.memory.buffer, data, max));
      return c.PyUnicode_FromStringAndSize(data, written);
    } finally {
      c.free(data);
    }
  }

  private cString(text: string): number {
    const bytes = this.encoder.encode(text);
    const ptr = this.alloc(bytes.length + 1);
    const view = new Uint8Array(this.c.memory.buffer, ptr, bytes.length + 1);
    view.set(bytes);
    view[bytes.length] = 0;
    return ptr;
  }

  private alloc(size: number): number {
    const ptr = this.c.malloc(size) >>> 0;
    if (ptr === 0) throw new DirectCallError('Cannot allocate memory in the interpreter (out of memory)');
    return ptr;
  }

  private fail(message: string): never {
    this.c.PyErr_Clear();
    throw new DirectCallError(message);
  }
}
