// A temporary, minimal in-memory `wasi:*` import set for components, used until the full one
// (interpreters/wasm/component/wasi-p2/, createComponentWasi) lands; same entry shape:
// createInterimWasi({stdin, writeStdout, writeStderr, deadline}) → { imports } keyed as jco's
// instantiation-mode glue reads them ('wasi:cli/stdout', …, no version). What it gives a guest:
// stdin is the call's input, stdout/stderr go to the caller's capped buffers, empty environment
// and arguments, no cwd, no preopens, no terminals, clocks and random live, `exit` ends only the
// guest (ComponentExit), sockets and outgoing HTTP refuse with their WIT error codes. Every door
// is a function below: nothing else of the worker reaches the guest.

export class ComponentExit extends Error {
  constructor(readonly code: number) {
    super(`The component called exit(${code})`);
  }
}

/** Thrown by a write past the output limit: the guest is stopped there. */
export class OutputStopped extends Error {}

export interface InterimWasiOptions {
  readonly stdin: Uint8Array;
  /** Returns false once the output limit is reached (the bytes that fit were kept). */
  readonly writeStdout: (bytes: Uint8Array) => boolean;
  readonly writeStderr: (bytes: Uint8Array) => boolean;
  /** performance.now() at which the call's time is up: sleeps never pass it. */
  readonly deadline: number;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export function createInterimWasi(options: InterimWasiOptions): { imports: Record<string, Record<string, unknown>> } {
  const sleepUntil = (at: number): void => {
    const until = Math.min(at, options.deadline);
    const ms = until - performance.now();
    if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
  };

  class Pollable {
    constructor(private readonly at = 0) {}
    ready(): boolean {
      return performance.now() >= this.at;
    }
    block(): void {
      sleepUntil(this.at);
    }
  }

  class IoError {
    toDebugString(): string {
      return 'error';
    }
  }

  let stdinAt = 0;
  class InputStream {
    read(len: bigint): Uint8Array {
      if (stdinAt >= options.stdin.length) throw { tag: 'closed' };
      const n = Math.min(Number(len), options.stdin.length - stdinAt);
      const out = options.stdin.slice(stdinAt, stdinAt + n);
      stdinAt += n;
      return out;
    }
    blockingRead(len: bigint): Uint8Array {
      return this.read(len);
    }
    skip(len: bigint): bigint {
      return BigInt(this.read(len).length);
    }
    blockingSkip(len: bigint): bigint {
      return this.skip(len);
    }
    subscribe(): Pollable {
      return new Pollable();
    }
  }

  class OutputStream {
    constructor(private readonly sink: ((bytes: Uint8Array) => boolean) | null) {}
    checkWrite(): bigint {
      return 1_048_576n;
    }
    write(bytes: Uint8Array): void {
      if (this.sink === null) throw { tag: 'closed' };
      if (!this.sink(bytes)) throw new OutputStopped('output limit reached');
    }
    blockingWriteAndFlush(bytes: Uint8Array): void {
      this.write(bytes);
    }
    writeZeroes(len: bigint): void {
      this.write(new Uint8Array(Number(len)));
    }
    blockingWriteZeroesAndFlush(len: bigint): void {
      this.writeZeroes(len);
    }
    flush(): void {}
    blockingFlush(): void {}
    subscribe(): Pollable {
      return new Pollable();
    }
  }

  const stdin = new InputStream();
  const stdout = new OutputStream(options.writeStdout);
  const stderr = new OutputStream(options.writeStderr);
  class TerminalInput {}
  class TerminalOutput {}
  class Descriptor {}
  class DirectoryEntryStream {}
  class Network {}
  class TcpSocket {}
  class UdpSocket {}
  class IncomingDatagramStream {}
  class OutgoingDatagramStream {}
  class ResolveAddressStream {}
  // Outgoing HTTP: the resources exist (the glue checks that they do); nothing can be sent.
  class Fields {}
  class FutureIncomingResponse {}
  class IncomingBody {}
  class IncomingRequest {}
  class IncomingResponse {}
  class OutgoingBody {}
  class OutgoingRequest {}
  class OutgoingResponse {}
  class RequestOptions {}
  class ResponseOutparam {}
  class FutureTrailers {}
  const denied = (): never => {
    throw 'access-denied';
  };
  const randomBytes = (len: bigint): Uint8Array => {
    const out = new Uint8Array(Math.min(Number(len), 1 << 20));
    for (let at = 0; at < out.length; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
    return out;
  };
  const randomU64 = (): bigint => new BigUint64Array(randomBytes(8n).buffer)[0]!;
  const exit = (status: { tag: string }): never => {
    throw new ComponentExit(status.tag === 'ok' ? 0 : 1);
  };

  return {
    imports: {
      'wasi:cli/environment': {
        getEnvironment: () => [],
        getArguments: () => [],
        initialCwd: () => undefined,
      },
      'wasi:cli/exit': { exit, exitWithCode: (code: number) => exit({ tag: code === 0 ? 'ok' : 'err' }) },
      'wasi:cli/stdin': { getStdin: () => stdin },
      'wasi:cli/stdout': { getStdout: () => stdout },
      'wasi:cli/stderr': { getStderr: () => stderr },
      'wasi:cli/terminal-input': { TerminalInput },
      'wasi:cli/terminal-output': { TerminalOutput },
      'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
      'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
      'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
      'wasi:io/error': { Error: IoError },
      'wasi:io/poll': {
        Pollable,
        poll: (list: Pollable[]) => {
          const ready = list.flatMap((p, i) => (p.ready() ? [i] : []));
          if (ready.length > 0 || list.length === 0) return new Uint32Array(ready);
          list[0]!.block();
          return new Uint32Array(list.flatMap((p, i) => (p.ready() ? [i] : [])));
        },
      },
      'wasi:io/streams': { InputStream, OutputStream },
      'wasi:clocks/monotonic-clock': {
        now: () => BigInt(Math.round(performance.now() * 1e6)),
        resolution: () => 100_000n,
        subscribeInstant: (at: bigint) => new Pollable(Number(at) / 1e6),
        subscribeDuration: (d: bigint) => new Pollable(performance.now() + Number(d) / 1e6),
      },
      'wasi:clocks/wall-clock': {
        now: () => {
          const ms = Date.now();
          return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1e6 };
        },
        resolution: () => ({ seconds: 0n, nanoseconds: 1e6 }),
      },
      'wasi:random/random': { getRandomBytes: randomBytes, getRandomU64: randomU64 },
      'wasi:random/insecure': { getInsecureRandomBytes: randomBytes, getInsecureRandomU64: randomU64 },
      'wasi:random/insecure-seed': { insecureSeed: () => [randomU64(), randomU64()] },
      'wasi:filesystem/preopens': { getDirectories: () => [] },
      'wasi:filesystem/types': { Descriptor, DirectoryEntryStream, filesystemErrorCode: () => undefined },
      'wasi:sockets/network': { Network },
      'wasi:sockets/instance-network': { instanceNetwork: denied },
      'wasi:sockets/tcp': { TcpSocket },
      'wasi:sockets/tcp-create-socket': { createTcpSocket: denied },
      'wasi:sockets/udp': { UdpSocket, IncomingDatagramStream, OutgoingDatagramStream },
      'wasi:sockets/udp-create-socket': { createUdpSocket: denied },
      'wasi:sockets/ip-name-lookup': { ResolveAddressStream, resolveAddresses: denied },
      'wasi:http/types': {
        Fields,
        FutureIncomingResponse,
        IncomingBody,
        IncomingRequest,
        IncomingResponse,
        OutgoingBody,
        OutgoingRequest,
        OutgoingResponse,
        RequestOptions,
        ResponseOutparam,
        FutureTrailers,
      },
      'wasi:http/outgoing-handler': {
        handle: () => {
          throw { tag: 'HTTP-request-denied' };
        },
      },
    },
  };
}
