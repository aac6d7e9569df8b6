// The service side of the Python runner's value codecs. "json" needs nothing; "zobject" (the
// Wikifunctions codec, src/wikifunctions/codec.ts) needs two things:
//
// - The codec reaches the harness on the wire call (WireCall.codec).
// - Integers must come back as bigint however small (the codec types 5 as a natural number and
//   refuses the float 5.0), but the service parses a result with parseJson, which gives bigint only
//   beyond 2^53. So the harness answers in tagged JSON (src/executor/json-value.ts: an int is the
//   string "\u0000n<digits>", a str that starts with NUL gets one more NUL), and untag() undoes it.

import type { Call, ExecuteOptions, ExecutionResult, Executor } from '../../src/executor/contract.js';
import type { WireCall } from '../../src/executor/host/process-protocol.js';
import type { JsonValue } from '../../src/executor/json-value.js';

export type PythonCodec = 'json' | 'zobject';

/** The codec of a call as the worker receives it ("json" unless the call names another). */
export function wireCodec(call: WireCall): PythonCodec {
  return call.codec === 'zobject' ? 'zobject' : 'json';
}

/** Wraps the process executor: the results of "zobject" calls are untagged. */
export function withCodecs(inner: Executor): Executor {
  const executeZObject = async (call: Call, options?: ExecuteOptions): Promise<ExecutionResult> => {
    const result = await inner.execute(call, options);
    return result.ok ? { ...result, value: untag(result.value) } : result;
  };
  return {
    get capacity() {
      return inner.capacity;
    },
    start: () => inner.start(),
    readiness: () => inner.readiness(),
    execute: (call, options) =>
      call.codec === 'zobject' ? executeZObject(call, options) : inner.execute(call, options),
    engineVersion: () => inner.engineVersion(),
    close: () => inner.close(),
  };
}

const NUL = '\u0000';

function untagString(text: string): JsonValue {
  if (!text.startsWith(NUL)) return text;
  return text[1] === 'n' ? BigInt(text.slice(2)) : text.slice(1);
}

/**
 * Decodes the strings of a tagged JSON value in place (object keys are left alone: the codec's tags
 * are keys). Iterative: the codec's tags nest a Python value up to three JSON levels deep.
 */
export function untag(value: JsonValue): JsonValue {
  if (typeof value === 'string') return untagString(value);
  if (value === null || typeof value !== 'object') return value;
  const stack: (JsonValue[] | { [key: string]: JsonValue })[] = [value];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child = node[i]!;
        if (typeof child === 'string') node[i] = untagString(child);
        else if (child !== null && typeof child === 'object') stack.push(child);
      }
    } else {
      for (const key of Object.keys(node)) {
        const child = node[key]!;
        if (typeof child === 'string') node[key] = untagString(child);
        else if (child !== null && typeof child === 'object') stack.push(child);
      }
    }
  }
  return value;
}
