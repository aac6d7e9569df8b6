// Structured logs: pino, one JSON object per line on stdout ({"level":"info","time":"…","msg":…}).
// The message comes right after the time so that a line reads well in a terminal, and so that
// tools (scripts/lib/server.ts) can match `"msg":"Listening","port":N`. Never log guest code or
// arguments at info level: the one line per call (src/http/request-context.ts) carries the
// language, outcome code and duration only; code and arguments appear at debug, truncated.
//
// Logging never blocks the service (docs/reliability.md). Lines go to a non-blocking sink
// (LogSink): a pipe or socket on stdout is made non-blocking (nonBlocking() below) and written with
// writeSync, which then never waits: a line the pipe cannot take now is kept in a 256 KiB buffer,
// retried on a timer and before the next line; once the buffer is full, new lines are dropped and counted
// (polyeval_log_lines_dropped_total in /metrics), and when the reader drains the pipe again one
// warning says how many were lost. A closed pipe (EPIPE) drops every line from then on, counted.
// A log collector that stalls costs log lines, never calls. Hand-written rather than pino's own
// destination (sonic-boom): in sync mode it retries EAGAIN in a busy loop (the freeze this
// replaces), and in async mode a write to a blocked pipe holds one of libuv's four threadpool
// threads until the reader comes back.

import { constants, fstatSync, openSync, writeSync, writevSync } from 'node:fs';
import { pino } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type Logger = {
  readonly [L in LogLevel]: (message: string, fields?: Record<string, unknown>) => void;
} & {
  /** A logger whose every line also carries `bindings` (e.g. the request id). */
  child?(bindings: Record<string, unknown>): Logger;
  /** True when lines of this level are written (skip building expensive fields otherwise). */
  enabled?(level: LogLevel): boolean;
};

export interface LoggerOptions {
  /** Where lines go; the process's stdout sink by default (tests pass a collector). */
  readonly write?: (line: string) => void;
}

/** Bytes of log lines kept while the reader is slow; beyond this, new lines are dropped. */
const SINK_BUFFER_BYTES = 256 * 1024;
/** Buffers handed to one writev (below IOV_MAX). */
const IOV_BATCH = 512;
/** How often kept lines are retried while the pipe is full. */
const SINK_RETRY_MS = 20;

/** A non-blocking writer of whole lines to one file descriptor. */
export class LogSink {
  /** Lines dropped since the process started (buffer full or stream closed). */
  dropped = 0;
  /** Called once the stream takes lines again after some were dropped. */
  onRecovered: ((dropped: number) => void) | undefined;
  private readonly fd: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private droppedUnreported = 0;
  private broken = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly stream: string,
    fd: number,
    private readonly maxBytes = SINK_BUFFER_BYTES,
  ) {
    this.fd = nonBlocking(fd);
  }

  write(line: string): void {
    if (this.broken) {
      this.dropped++;
      return;
    }
    // Lines are waiting: give the reader a chance to have made room first (one non-blocking write).
    if (this.pending.length > 0) this.flush();
    if (this.broken) {
      this.dropped++;
      return;
    }
    if (this.pending.length > 0) {
      const bytes = Buffer.byteLength(line);
      if (this.pendingBytes + bytes > this.maxBytes) this.drop(1);
      else {
        this.pending.push(Buffer.from(line));
        this.pendingBytes += bytes;
      }
      return;
    }
    let written: number;
    try {
      written = writeSync(this.fd, line);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') this.keep(Buffer.from(line));
      else this.failed(error, 1);
      return;
    }
    // A pipe takes part of a line when it has room for part of it: the rest waits for the reader.
    if (written < Buffer.byteLength(line)) this.keep(Buffer.from(line).subarray(written));
  }

  /** Writes what the stream takes now, without waiting (at exit, and on the retry timer). */
  flush(): void {
    while (this.pending.length > 0 && !this.broken) {
      // One writev per batch (the kernel takes at most IOV_MAX = 1024 buffers at once).
      const batch = this.pending.length <= IOV_BATCH ? this.pending : this.pending.slice(0, IOV_BATCH);
      let written: number;
      try {
        written = writevSync(this.fd, batch);
      } catch (error) {
        this.failed(error, 0);
        return;
      }
      if (written === 0) return;
      this.pendingBytes -= written;
      let i = 0;
      while (i < this.pending.length && written >= this.pending[i]!.length)
        written -= this.pending[i++]!.length;
      this.pending = this.pending.slice(i);
      if (written > 0) this.pending[0] = this.pending[0]!.subarray(written);
    }
    if (this.pending.length === 0 && this.droppedUnreported > 0 && !this.broken) {
      const dropped = this.droppedUnreported;
      this.droppedUnreported = 0;
      this.onRecovered?.(dropped);
    }
  }

  private keep(rest: Buffer): void {
    this.pending.push(rest);
    this.pendingBytes += rest.length;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    const tick = (): void => {
      this.timer = undefined;
      this.flush();
      if (this.pending.length > 0 && !this.broken) this.schedule();
    };
    this.timer = setTimeout(tick, SINK_RETRY_MS);
    this.timer.unref();
  }

  private drop(lines: number): void {
    this.dropped += lines;
    this.droppedUnreported += lines;
  }

  /** `lines`: lines being written when the error came (0 or 1), besides those pending. */
  private failed(error: unknown, lines: number): void {
    if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
      this.schedule();
      return;
    }
    // EPIPE (the reader closed the pipe), EBADF…: nothing will be written on this stream again.
    this.broken = true;
    this.dropped += lines + (this.pendingBytes > 0 ? countLines(this.pending) : 0);
    this.pending = [];
    this.pendingBytes = 0;
    clearTimeout(this.timer);
  }
}

function countLines(chunks: readonly Buffer[]): number {
  let n = 0;
  for (const chunk of chunks) for (const byte of chunk) if (byte === 0x0a) n++;
  return Math.max(1, n);
}

/**
 * A file descriptor for `fd` that never blocks on write. A pipe is reopened with O_NONBLOCK (a file
 * description of our own). A socket (what Node's child_process gives for 'pipe', systemd for
 * journal) cannot be reopened: Node's own stdout/stderr stream for it is a libuv handle, whose
 * opening puts the socket in non-blocking mode, and it is opened for that effect (with an error
 * listener, so that an EPIPE on it cannot crash the process). Files and terminals are used as they
 * are: a write to them does not wait on a reader.
 */
function nonBlocking(fd: number): number {
  let kind: 'fifo' | 'socket' | 'other' = 'other';
  try {
    const stat = fstatSync(fd);
    kind = stat.isFIFO() ? 'fifo' : stat.isSocket() ? 'socket' : 'other';
    if (kind === 'fifo') return openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    // No /proc, or the pipe has no reader any more (ENXIO): as for a socket.
  }
  if (kind !== 'other') {
    const stream = fd === 1 ? process.stdout : fd === 2 ? process.stderr : undefined;
    stream?.on('error', () => undefined);
  }
  return fd;
}

let sinks: { stdout: LogSink; stderr: LogSink } | undefined;

/** The process's sinks for fd 1 and fd 2, opened on first use and flushed at exit. */
export function processSinks(): { stdout: LogSink; stderr: LogSink } {
  if (sinks === undefined) {
    const opened = { stdout: new LogSink('stdout', 1), stderr: new LogSink('stderr', 2) };
    sinks = opened;
    process.on('exit', () => {
      opened.stdout.flush();
      opened.stderr.flush();
    });
  }
  return sinks;
}

/** Log lines dropped per stream so far (for /metrics); empty until a sink is opened. */
export function droppedLogLines(): Array<[stream: string, lines: number]> {
  return sinks === undefined ? [] : [sinks.stdout, sinks.stderr].map((s) => [s.stream, s.dropped]);
}

function wrap(base: pino.Logger): Logger {
  // The message goes into the object first, so that pino writes it before the fields.
  const make =
    (level: LogLevel) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (base.isLevelEnabled(level)) base[level]({ msg: message, ...fields });
    };
  return {
    debug: make('debug'),
    info: make('info'),
    warn: make('warn'),
    error: make('error'),
    child: (bindings) => wrap(base.child(bindings)),
    enabled: (level) => base.isLevelEnabled(level),
  };
}

export function createLogger(level: LogLevel | 'silent', options: LoggerOptions = {}): Logger {
  // A silent logger writes nothing: it needs no sink (tests create many).
  const sink = options.write === undefined && level !== 'silent' ? processSinks().stdout : undefined;
  const write = options.write ?? ((line: string) => sink?.write(line));
  const logger = wrap(
    pino(
      {
        level,
        base: null,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      { write },
    ),
  );
  if (sink !== undefined) {
    sink.onRecovered = (dropped) =>
      logger.warn('Log lines were dropped: stdout was not being read', { dropped, stream: sink.stream });
  }
  return logger;
}

/** Shortens a guest-supplied string for a debug line. */
export function truncateForLog(text: string, max = 2_000): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}

/**
 * Node's own warnings go to stderr through the non-blocking sink instead of its default handler,
 * whose write to a stderr pipe nobody reads would wait or grow without bound (`npm start` and
 * `polyeval serve` alike).
 */
export function routeProcessWarnings(): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    processSinks().stderr.write(`(node:${process.pid}) ${warning.name}: ${warning.message}\n`);
  });
}
