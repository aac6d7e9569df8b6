// The wasi:* interfaces of one call (see index.ts for the whole picture): cli, clocks and random
// work in memory; filesystem has no preopens; sockets refuse with their WIT error codes; http
// refuses by stopping the call (its constructors have no error channel). Each function checks the
// call's state first (state.guard()), so that a stopped call finds every door shut.

import { createIo, type InputSource, type Io, type Sink } from './io.js';
import { type CallState, disposable } from './state.js';

export type InterfaceImports = Record<string, unknown>;

export interface InterfaceOptions {
  readonly stdin: Uint8Array;
  readonly writeStdout: Sink;
  readonly writeStderr: Sink;
}

/** Clocks are coarsened to 100 µs, as the raw-module WASI does (the side-channel stance, docs/security.md). */
export const CLOCK_RESOLUTION_NS = 100_000;
/**
 * Random bytes one get-random-bytes may ask for: the host allocates them before they are copied into
 * the guest's capped memory, so the request is bounded here (libc asks for at most 256 bytes, Web
 * crypto for 65,536).
 */
export const RANDOM_BYTES_MAX = 1024 * 1024;
const CRYPTO_CHUNK = 65_536;

const TOKEN = Symbol('component-wasi');

function coarseNs(ms: number): bigint {
  return BigInt(Math.floor((ms * 1e6) / CLOCK_RESOLUTION_NS)) * BigInt(CLOCK_RESOLUTION_NS);
}

function u64(door: string, value: unknown): bigint {
  if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n) {
    throw new TypeError(`Cannot call ${door}: argument is not a u64`);
  }
  return value;
}

/** A resource class the guest can never obtain an instance of (nothing here makes one). */
function unobtainable(state: CallState, door: string, name: string): new () => object {
  const cls = class {
    constructor() {
      state.stop({ kind: 'refused', door: `${door}.[constructor]` });
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

/** A resource class whose constructor and static functions stop the call with a refusal. */
function refused(
  state: CallState,
  door: string,
  name: string,
  statics: readonly string[] = [],
): new () => object {
  const cls = unobtainable(state, door, name);
  for (const fn of statics) {
    Object.defineProperty(cls, fn, {
      value: () => state.stop({ kind: 'refused', door: `${door}.${fn}` }),
      enumerable: false,
    });
  }
  return cls;
}

function randomBytes(state: CallState, door: string, len: unknown): Uint8Array {
  state.guard();
  const n = u64(door, len);
  if (n > BigInt(RANDOM_BYTES_MAX)) state.stop({ kind: 'limit', door, limit: RANDOM_BYTES_MAX });
  const bytes = new Uint8Array(Number(n));
  for (let at = 0; at < bytes.length; at += CRYPTO_CHUNK) {
    crypto.getRandomValues(bytes.subarray(at, at + CRYPTO_CHUNK));
  }
  return bytes;
}

function randomU64(state: CallState): bigint {
  state.guard();
  return crypto.getRandomValues(new BigUint64Array(1))[0]!;
}

/**
 * Every wasi:* interface of one call, keyed as jco's instantiation glue looks them up, each made
 * when first asked for (a call builds only what its component imports: classes cost allocations).
 */
export function createInterfaces(
  state: CallState,
  options: InterfaceOptions,
): Record<string, () => InterfaceImports> {
  let ioKit: Io | undefined;
  const io = (): Io => {
    ioKit ??= createIo(state);
    return ioKit;
  };
  const stdin: InputSource = { bytes: options.stdin, offset: 0 };

  type NetworkClass = new (token?: symbol) => object;
  let networkClass: NetworkClass | undefined;
  const network = (): NetworkClass => {
    if (networkClass !== undefined) return networkClass;
    class Network {
      #dropped = false;
      constructor(token?: symbol) {
        if (token !== TOKEN) state.stop({ kind: 'refused', door: 'wasi:sockets/network.[constructor]' });
        state.track('wasi:sockets/instance-network.instance-network');
      }
      static drop(self: Network): void {
        if (self.#dropped) return;
        self.#dropped = true;
        state.untrack();
      }
    }
    disposable(Network.prototype, Network.drop);
    networkClass = Network;
    return Network;
  };

  const guarded =
    <T>(fn: () => T) =>
    (): T => {
      state.guard();
      return fn();
    };
  // Sockets refuse with the WIT error code `access-denied`: the guest sees an ordinary failure it
  // can handle (a Rust program's connect() returns an error), and the caller sees the door in `refused`.
  const denied = (door: string) => (): never => {
    state.guard();
    return state.refuse(door, 'access-denied');
  };

  let seed: [bigint, bigint] | undefined;

  return {
    'wasi:cli/environment': () => ({
      getEnvironment: guarded((): [string, string][] => []),
      getArguments: guarded((): string[] => []),
      initialCwd: guarded((): string | undefined => undefined),
    }),
    'wasi:cli/exit': () => ({
      exit: (status: { tag?: unknown }) => {
        state.guard();
        state.stop({ kind: 'exit', code: status?.tag === 'ok' ? 0 : 1 });
      },
      exitWithCode: (code: unknown) => {
        state.guard();
        state.stop({ kind: 'exit', code: typeof code === 'number' ? code & 0xff : 1 });
      },
    }),
    'wasi:cli/stdin': () => ({
      getStdin: guarded(() => io().inputStream('wasi:cli/stdin.get-stdin', stdin)),
    }),
    'wasi:cli/stdout': () => ({
      getStdout: guarded(() => io().outputStream('wasi:cli/stdout.get-stdout', options.writeStdout)),
    }),
    'wasi:cli/stderr': () => ({
      getStderr: guarded(() => io().outputStream('wasi:cli/stderr.get-stderr', options.writeStderr)),
    }),
    // No stream is a terminal: the getters answer none, so no terminal resource ever exists.
    'wasi:cli/terminal-input': () => ({
      TerminalInput: unobtainable(state, 'wasi:cli/terminal-input.terminal-input', 'TerminalInput'),
    }),
    'wasi:cli/terminal-output': () => ({
      TerminalOutput: unobtainable(state, 'wasi:cli/terminal-output.terminal-output', 'TerminalOutput'),
    }),
    'wasi:cli/terminal-stdin': () => ({ getTerminalStdin: guarded((): object | undefined => undefined) }),
    'wasi:cli/terminal-stdout': () => ({ getTerminalStdout: guarded((): object | undefined => undefined) }),
    'wasi:cli/terminal-stderr': () => ({ getTerminalStderr: guarded((): object | undefined => undefined) }),

    'wasi:io/error': () => ({ Error: io().Error }),
    'wasi:io/poll': () => ({ Pollable: io().Pollable, poll: io().poll }),
    'wasi:io/streams': () => ({ InputStream: io().InputStream, OutputStream: io().OutputStream }),

    'wasi:clocks/monotonic-clock': () => ({
      now: guarded(() => coarseNs(performance.now() - state.origin)),
      resolution: guarded(() => BigInt(CLOCK_RESOLUTION_NS)),
      subscribeInstant: (when: unknown) => {
        state.guard();
        const at = state.origin + Number(u64('wasi:clocks/monotonic-clock.subscribe-instant', when)) / 1e6;
        return io().pollable('wasi:clocks/monotonic-clock.subscribe-instant', at);
      },
      subscribeDuration: (duration: unknown) => {
        state.guard();
        const at =
          performance.now() + Number(u64('wasi:clocks/monotonic-clock.subscribe-duration', duration)) / 1e6;
        return io().pollable('wasi:clocks/monotonic-clock.subscribe-duration', at);
      },
    }),
    'wasi:clocks/wall-clock': () => ({
      now: guarded(() => {
        const ns = coarseNs(performance.timeOrigin + performance.now());
        return { seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n) };
      }),
      resolution: guarded(() => ({ seconds: 0n, nanoseconds: CLOCK_RESOLUTION_NS })),
    }),

    'wasi:random/random': () => ({
      getRandomBytes: (len: unknown) => randomBytes(state, 'wasi:random/random.get-random-bytes', len),
      getRandomU64: () => randomU64(state),
    }),
    'wasi:random/insecure': () => ({
      getInsecureRandomBytes: (len: unknown) =>
        randomBytes(state, 'wasi:random/insecure.get-insecure-random-bytes', len),
      getInsecureRandomU64: () => randomU64(state),
    }),
    'wasi:random/insecure-seed': () => ({
      // Drawn once per call (languages seed their hash maps with it), never shared between calls.
      insecureSeed: guarded((): [bigint, bigint] => {
        seed ??= [randomU64(state), randomU64(state)];
        return [seed[0], seed[1]];
      }),
    }),

    'wasi:filesystem/preopens': () => ({
      getDirectories: guarded((): [object, string][] => []),
    }),
    'wasi:filesystem/types': () => ({
      Descriptor: unobtainable(state, 'wasi:filesystem/types.descriptor', 'Descriptor'),
      DirectoryEntryStream: unobtainable(
        state,
        'wasi:filesystem/types.directory-entry-stream',
        'DirectoryEntryStream',
      ),
      filesystemErrorCode: guarded((): string | undefined => undefined),
    }),

    'wasi:sockets/network': () => ({
      Network: network(),
      networkErrorCode: guarded((): string | undefined => undefined),
    }),
    'wasi:sockets/instance-network': () => ({
      instanceNetwork: guarded(() => new (network())(TOKEN)),
    }),
    'wasi:sockets/tcp-create-socket': () => ({
      createTcpSocket: denied('wasi:sockets/tcp-create-socket.create-tcp-socket'),
    }),
    'wasi:sockets/tcp': () => ({
      TcpSocket: unobtainable(state, 'wasi:sockets/tcp.tcp-socket', 'TcpSocket'),
    }),
    'wasi:sockets/udp-create-socket': () => ({
      createUdpSocket: denied('wasi:sockets/udp-create-socket.create-udp-socket'),
    }),
    'wasi:sockets/udp': () => ({
      UdpSocket: unobtainable(state, 'wasi:sockets/udp.udp-socket', 'UdpSocket'),
      IncomingDatagramStream: unobtainable(
        state,
        'wasi:sockets/udp.incoming-datagram-stream',
        'IncomingDatagramStream',
      ),
      OutgoingDatagramStream: unobtainable(
        state,
        'wasi:sockets/udp.outgoing-datagram-stream',
        'OutgoingDatagramStream',
      ),
    }),
    'wasi:sockets/ip-name-lookup': () => ({
      resolveAddresses: denied('wasi:sockets/ip-name-lookup.resolve-addresses'),
      ResolveAddressStream: unobtainable(
        state,
        'wasi:sockets/ip-name-lookup.resolve-address-stream',
        'ResolveAddressStream',
      ),
    }),

    'wasi:http/types': () => ({
      Fields: refused(state, 'wasi:http/types.fields', 'Fields', ['fromList']),
      FutureIncomingResponse: refused(
        state,
        'wasi:http/types.future-incoming-response',
        'FutureIncomingResponse',
      ),
      FutureTrailers: refused(state, 'wasi:http/types.future-trailers', 'FutureTrailers'),
      IncomingBody: refused(state, 'wasi:http/types.incoming-body', 'IncomingBody', ['finish']),
      IncomingRequest: refused(state, 'wasi:http/types.incoming-request', 'IncomingRequest'),
      IncomingResponse: refused(state, 'wasi:http/types.incoming-response', 'IncomingResponse'),
      OutgoingBody: refused(state, 'wasi:http/types.outgoing-body', 'OutgoingBody', ['finish']),
      OutgoingRequest: refused(state, 'wasi:http/types.outgoing-request', 'OutgoingRequest'),
      OutgoingResponse: refused(state, 'wasi:http/types.outgoing-response', 'OutgoingResponse'),
      RequestOptions: refused(state, 'wasi:http/types.request-options', 'RequestOptions'),
      ResponseOutparam: refused(state, 'wasi:http/types.response-outparam', 'ResponseOutparam', ['set']),
      httpErrorCode: (): never => state.stop({ kind: 'refused', door: 'wasi:http/types.http-error-code' }),
    }),
    'wasi:http/outgoing-handler': () => ({
      handle: (): never => state.stop({ kind: 'refused', door: 'wasi:http/outgoing-handler.handle' }),
    }),
  };
}
