// An in-memory WASI preview2 for one call of a component (issue 18): the `imports` object that
// jco-transpile 0.15.0's instantiation glue (`instantiation: {tag: 'async'}` or `'sync'`) reads as
// `imports['wasi:cli/stdout']` etc. — unversioned interface names, one object per interface holding
// its functions and resource classes by the glue's JavaScript names. Nothing here touches the host:
//
// - cli: empty environment and arguments, no initial cwd, stdin is the call's bytes, stdout and
//   stderr go to the caller's writers (its capped buffers), no terminals; exit stops the call
//   (ComponentWasiStop, `stop.kind === 'exit'`), it never reaches process.exit.
// - io: streams, pollables, poll, errors; synchronous (see io.ts): a wait sleeps, bounded by the
//   deadline.
// - clocks (wall, monotonic from the call's start) and random (crypto.getRandomValues) are live,
//   clocks in 100 µs steps.
// - filesystem: no preopens (so nothing can be opened); sockets: every socket or lookup refused
//   with the WIT error `access-denied`; http (componentize-js components import it for fetch):
//   every constructor or function stops the call with a refusal naming it.
//
// Options: `stdin`, `writeStdout`, `writeStderr` (the caller's; a write over its cap throws the
// caller's error, which stops the call and propagates as a trap: jco rethrows an Error with no
// `payload`; a writer may instead return false at its cap), and optionally `deadline` (a
// performance.now() value: a WASI call after it, or a wait reaching it, stops the call with a
// timeout), `onStop` (called once with the reason, e.g. to drain the guest's fuel, since a
// component with wasm exception handling could catch our throw) and `maxLiveResources` (host
// resources held at once, MAX_LIVE_RESOURCES by default).
//
// The result's `stop` holds the first reason the call was stopped (exit, refusal, timeout,
// deadlock, limit, output) even if the guest caught the exception; once stopped, every door throws
// again. `refused` lists the doors that answered a WIT error (sockets), for the caller's message.
//
// Per call everything is fresh: the classes themselves are made per call (a resource of one call
// is not an instance of another's classes), and no module-level state exists.
//
// Why not preview2-shim: its Node build hands the guest the host's environment, argv and cwd, and
// its exit calls process.exit. Its browser build (dist/browser/*.js) is close, but none of it is
// used, for these reasons:
// - its poll and Pollable.block return Promises, which the glue does not await (sync glue lowers
//   the Promise of poll as a list; block returns at once: measured with the probe component of
//   test/wasm/component-wasi.test.ts, a 500 ms block returned after 23 ms, so a guest's sleep
//   spins). The streams' subscribe must return the Pollable class the glue is given, so the
//   streams come with it (and its streams count ids at module level);
// - createCli answers cwd "/" (we answer none), and its exit throws a class it does not export;
// - its random module caches the insecure seed at module level (shared by every call);
// - its monotonic clock is the process's performance.now() (the process's uptime);
// - its outgoing-handler calls fetch(); its filesystem keeps module-level preopens.
// What is left (empty resource classes, functions answering empty lists) is shorter written here
// than loaded by file path.

import { COMPONENT_WASI_DOORS, witName } from './doors.js';
import { createInterfaces } from './interfaces.js';
import { CallState, type ComponentWasiStopReason, MAX_LIVE_RESOURCES } from './state.js';

export { COMPONENT_WASI_DOORS, witName } from './doors.js';
export { CLOCK_RESOLUTION_NS, RANDOM_BYTES_MAX } from './interfaces.js';
export { POLL_LIST_MAX } from './io.js';
export { ComponentWasiStop, type ComponentWasiStopReason, MAX_LIVE_RESOURCES } from './state.js';

export interface ComponentWasiOptions {
  /** The call's stdin (for a command: its JSON arguments). */
  readonly stdin: Uint8Array;
  /**
   * Receives each stdout write (a copy); throws when the caller's cap is exceeded (or returns
   * false: the call is stopped with `{kind: 'output', error: undefined}`).
   */
  readonly writeStdout: (bytes: Uint8Array) => unknown;
  /** As writeStdout, for stderr. */
  readonly writeStderr: (bytes: Uint8Array) => unknown;
  /** performance.now() value after which the call is stopped (at its next WASI call or wait). */
  readonly deadline?: number;
  /** Called once, with the reason, when the call is stopped. */
  readonly onStop?: (reason: ComponentWasiStopReason) => void;
  /** Host resources (streams, pollables, errors, networks) the guest may hold at once: MAX_LIVE_RESOURCES by default. */
  readonly maxLiveResources?: number;
}

export interface ComponentWasi {
  /** The import object for the glue's instantiate(getCoreModule, imports, instantiateCore). */
  readonly imports: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Why the call was stopped, if it was (the first reason; holds even if the guest caught our throw). */
  readonly stop: ComponentWasiStopReason | undefined;
  /** The exit status if the guest called wasi:cli/exit (a shortcut for `stop.kind === 'exit'`). */
  readonly exitCode: number | undefined;
  /** Doors that answered the guest a WIT error (e.g. `wasi:sockets/tcp-create-socket.create-tcp-socket`). */
  readonly refused: readonly string[];
}

export function createComponentWasi(options: ComponentWasiOptions): ComponentWasi {
  const state = new CallState({
    deadline: options.deadline,
    onStop: options.onStop,
    maxLiveResources: options.maxLiveResources ?? MAX_LIVE_RESOURCES,
  });
  const interfaces = createInterfaces(state, options);
  // Without a prototype, here and in each interface (withoutInheritedMembers).
  const imports: Record<string, Readonly<Record<string, unknown>>> = Object.create(null);
  for (const [name, make] of Object.entries(interfaces)) {
    let made: Readonly<Record<string, unknown>> | undefined;
    // Each interface is made on first read (a call pays only for what its component imports),
    // then frozen: the glue of this call cannot swap a door for the next reader of the object.
    Object.defineProperty(imports, name, {
      enumerable: true,
      get: () => {
        made ??= Object.freeze(withoutInheritedMembers(make()));
        return made;
      },
    });
  }
  return {
    imports: Object.freeze(imports),
    get stop() {
      return state.stopReason;
    },
    get exitCode() {
      const stop = state.stopReason;
      return stop?.kind === 'exit' ? stop.code : undefined;
    },
    get refused() {
      return [...state.refusedDoors];
    },
  };
}

/**
 * An interface whose members inherit nothing: the glue reads each function, resource class, static
 * and method by the name the component declares, whatever the interface's version, so
 * `wasi:random/random@9.9.9`'s `to-string` was Object.prototype.toString, `constructor` Object
 * itself, a resource's method `to-string` or static `to-string` Object's or Function's: doors no
 * table listed (found by the acceptance attack run). The interface object, each base class and its
 * prototype lose their prototype (a derived class keeps its base, for super()); a name we do not
 * define is then undefined and the call fails.
 */
function withoutInheritedMembers(members: Record<string, unknown>): Record<string, unknown> {
  for (const value of Object.values(members)) {
    if (typeof value !== 'function') continue;
    if (Object.getPrototypeOf(value) === Function.prototype) Object.setPrototypeOf(value, null);
    const proto = (value as { prototype?: unknown }).prototype;
    if (typeof proto === 'object' && proto !== null && Object.getPrototypeOf(proto) === Object.prototype) {
      Object.setPrototypeOf(proto, null);
    }
  }
  return Object.setPrototypeOf(members, null) as Record<string, unknown>;
}

/** The interfaces createComponentWasi provides, as the glue names them (jco's `imports` list of a transpile). */
export const COMPONENT_WASI_INTERFACES: readonly string[] = Object.freeze(Object.keys(COMPONENT_WASI_DOORS));

/**
 * The interfaces of a transpiled component's import list that this WASI does not provide: a
 * deployment can refuse such a component with a clear error instead of the glue failing to
 * destructure an undefined import at instantiation.
 */
export function unsupportedComponentImports(imports: readonly string[]): string[] {
  return imports.filter((name) => !COMPONENT_WASI_INTERFACES.includes(name));
}

/** The doors an import object opens, as `interface.member` (WIT names), for the doors table and its test. */
export function componentWasiDoors(imports: ComponentWasi['imports']): string[] {
  const doors: string[] = [];
  for (const [name, members] of Object.entries(imports)) {
    for (const member of Object.keys(members)) doors.push(`${name}.${witName(member)}`);
  }
  return doors;
}

/** The documented doors (COMPONENT_WASI_DOORS) as `interface.member` → reason. */
export function documentedComponentWasiDoors(): Map<string, string> {
  const doors = new Map<string, string>();
  for (const [name, members] of Object.entries(COMPONENT_WASI_DOORS)) {
    for (const [member, reason] of Object.entries(members)) doors.set(`${name}.${member}`, reason);
  }
  return doors;
}
