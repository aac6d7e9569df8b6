// A small structured logger: one JSON object per line on stdout. Never log guest code or arguments
// at info level. (Kept dependency-free for now; the fields follow pino's shape so that switching to
// pino is a drop-in when the service needs its transports.)

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type Logger = {
  readonly [L in LogLevel]: (message: string, fields?: Record<string, unknown>) => void;
};

export function createLogger(
  level: LogLevel | 'silent',
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const threshold = ORDER[level];
  const make =
    (l: LogLevel) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (ORDER[l] < threshold) return;
      write(`${JSON.stringify({ level: l, time: new Date().toISOString(), msg: message, ...fields })}\n`);
    };
  return { debug: make('debug'), info: make('info'), warn: make('warn'), error: make('error') };
}
