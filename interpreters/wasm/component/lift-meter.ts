// The lift meter of a component call: what jco's glue builds in the worker's JavaScript heap from
// the component's memory when it lifts the returned value, counted and capped before the heap
// limit is ever the bound.
//
// Why: the canonical ABI lets one returned value name the same bytes many times. A list<string> of
// 8,000 entries, each naming the whole 64 KiB memory, is 512 MB of JavaScript strings lifted from
// 64 KiB; list<list<u8>> copies the memory once per entry, list<list<record>> makes an object per
// element of each aliased inner list. The worker's heap limit (resourceLimits) stops that, but a
// V8 heap exhausted in a worker thread sometimes takes the whole sandbox host down (exit 139 on
// Node 24, one run in three), and with it every other call the host is running. So the glue's
// only three ways of reading a memory are metered: TextDecoder.prototype.decode (strings, charged
// their byte length), ArrayBuffer.prototype.slice (lists of numbers, their byte length) and the
// DataView getters (everything else: each list element, record field and discriminant is at least
// one read, charged READ_BYTES for the value or object it becomes). When the charge passes the
// call's budget the read throws LiftLimit and the call ends MEMORY_LIMIT.
//
// Only lifts made while no core wasm function is running are charged: that is the result's lift
// (after the export returned). An import's arguments are lifted while the core function that
// called it is on the stack; they are garbage once the import returns, bounded per import by the
// memory they come from, and a long-running component may make millions of such calls. The depth
// of core wasm on the stack is kept by wrapping the exported functions of every core instance the
// glue makes (wrapExports, through our instantiateCore).
//
// The meter is a resource bound, not a security boundary: a glue that bypassed it would meet the
// heap limit, the sandbox host's memory limit and the OS layer, as before.

/** What one DataView read is charged: a number or small object in the heap, with its slot. */
export const READ_BYTES = 16;

/** The lifted result may not exceed this, whatever the call's memory limit (the worker's heap is 256 MiB). */
export const LIFT_CAP_BYTES = 16 * 2 ** 20;

export class LiftLimit extends RangeError {}

const state = { depth: 0, used: 0, budget: Number.POSITIVE_INFINITY, armed: false, exceeded: false };

function charge(bytes: number): void {
  if (!state.armed || state.depth > 0) return;
  state.used += bytes;
  if (state.used > state.budget) {
    state.exceeded = true;
    throw new LiftLimit(`the value the component returned exceeds ${state.budget} bytes once lifted`);
  }
}

let installed = false;

/** Puts the meter on this realm's memory readers. Call once, before the realm is locked down. */
export function installLiftMeter(): void {
  if (installed) return;
  installed = true;
  const decode = TextDecoder.prototype.decode;
  Object.defineProperty(TextDecoder.prototype, 'decode', {
    value: function decodeMetered(
      this: TextDecoder,
      input?: AllowSharedBufferSource,
      options?: TextDecodeOptions,
    ) {
      charge(input === undefined ? 0 : input.byteLength);
      return decode.call(this, input, options);
    },
    writable: true,
    configurable: true,
  });
  const slice = ArrayBuffer.prototype.slice;
  Object.defineProperty(ArrayBuffer.prototype, 'slice', {
    value: function sliceMetered(this: ArrayBuffer, start?: number, end?: number) {
      const part = slice.call(this, start, end);
      charge(part.byteLength);
      return part;
    },
    writable: true,
    configurable: true,
  });
  for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(DataView.prototype))) {
    const original = descriptor.value as unknown;
    // The readers (getUint8...getBigUint64, getFloat16 where present), not the accessors.
    if (!name.startsWith('get') || typeof original !== 'function') continue;
    Object.defineProperty(DataView.prototype, name, {
      value: function readMetered(this: DataView, ...args: unknown[]) {
        charge(READ_BYTES);
        return (original as (...a: unknown[]) => unknown).apply(this, args);
      },
      writable: true,
      configurable: true,
    });
  }
}

/** Starts charging (just before the export is called), with the call's budget. */
export function armLiftMeter(budgetBytes: number): void {
  state.used = 0;
  state.budget = budgetBytes;
  state.exceeded = false;
  state.armed = true;
}

/** Whether the call's lift passed its budget (a LiftLimit the guest's glue may have swallowed). */
export function liftExceeded(): boolean {
  return state.exceeded;
}

/**
 * A core instance's exports with each function wrapped to count core wasm on the stack; memories,
 * tables and globals pass through untouched.
 */
export function wrapExports(exports: WebAssembly.Exports): WebAssembly.Exports {
  const out: Record<string, WebAssembly.ExportValue> = {};
  for (const [key, value] of Object.entries(exports)) {
    if (typeof value !== 'function') {
      out[key] = value;
      continue;
    }
    const fn = value as (...a: unknown[]) => unknown;
    out[key] = ((...args: unknown[]) => {
      state.depth += 1;
      try {
        return fn(...args);
      } finally {
        state.depth -= 1;
      }
    }) as WebAssembly.ExportValue;
  }
  return out;
}
