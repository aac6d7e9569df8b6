// Structured logs: pino, one JSON object per line on stdout ({"level":"info","time":"…","msg":…}).
// The message comes right after the time so that a line reads well in a terminal, and so that
// tools (scripts/lib/server.ts) can match `"msg":"Listening","port":N`. Never log guest code or
// arguments at info level: the one line per call (src/http/request-context.ts) carries the
// language, outcome code and duration only; code and arguments appear at debug, truncated.

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
  /** Where lines go; process.stdout by default (tests pass a collector). */
  readonly write?: (line: string) => void;
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
  const write = options.write;
  const destination = write === undefined ? pino.destination({ fd: 1, sync: true }) : { write };
  return wrap(
    pino(
      {
        level,
        base: null,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      destination,
    ),
  );
}

/** Shortens a guest-supplied string for a debug line. */
export function truncateForLog(text: string, max = 2_000): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}
