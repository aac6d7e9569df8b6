// The whole service, started: configuration, languages, orchestrator, metrics, the hono app and the
// hardened HTTP server. Used by main.ts (node dist/src/main.js) and `polyeval serve`.
//
// Graceful stop (SIGTERM/SIGINT, or stop()): /readyz turns 503 at once, new calls get 503
// shutting-down, the server stops accepting connections; calls in flight may finish for up to
// POLYEVAL_SHUTDOWN_TIMEOUT_MS, after which they are cancelled (their sandboxes killed, their
// callers answered 503 shutting-down); once every answer is written the engines stop and the
// process exits. A second signal exits at once.

import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createApp } from './app.js';
import { type Config, loadConfig, unknownVariables } from './config.js';
import { ConfigError } from './errors.js';
import { discoverLanguages, type LanguageEntry } from './executor/registry.js';
import { createHttpServer, type HttpServer } from './http/server.js';
import { createWikifunctionsSocketAcceptor } from './http/wikifunctions-socket.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { Orchestrator } from './orchestrator/orchestrator.js';
import { projectRoot } from './paths.js';
import { REENTRANCE_LIMITS } from './wikifunctions/reentrance.js';
import { SocketPairing } from './wikifunctions/socket-pairing.js';

export interface ServiceOptions {
  /** The environment to read the configuration from (process.env by default). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly languages?: readonly LanguageEntry[];
  readonly log?: Logger;
  /** Install SIGTERM/SIGINT handlers that stop gracefully and exit the process (default false). */
  readonly handleSignals?: boolean;
}

export interface RunningService {
  readonly config: Config;
  readonly orchestrator: Orchestrator;
  readonly metrics: Metrics | undefined;
  readonly http: HttpServer;
  readonly url: string;
  /** Graceful stop; resolves when every answer is written and the engines are stopped. */
  stop(reason?: string): Promise<void>;
}

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('package.json', projectRoot)), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * Exit codes of a service that could not start, the same for `npm start` (main.ts) and
 * `polyeval serve`: 2 for bad configuration (a variable, a setting, a manifest: the operator's to
 * fix), 1 for any other failure (the port is taken, an engine is missing…).
 */
export const STARTUP_EXIT = { config: 2, failed: 1 } as const;

/** The message and exit code for a failure of startService(). */
export function startupFailure(error: unknown): { message: string; exitCode: number } {
  if (error instanceof ConfigError) return { message: error.message, exitCode: STARTUP_EXIT.config };
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { message, exitCode: STARTUP_EXIT.failed };
}

export async function startService(options: ServiceOptions = {}): Promise<RunningService> {
  const config = loadConfig(options.env);
  const g = config.global;
  const log = options.log ?? createLogger(g.POLYEVAL_LOG_LEVEL);
  const entries = options.languages ?? discoverLanguages();
  // A mistyped variable would be silently ignored: say so, with the name it probably meant.
  for (const unknown of unknownVariables(
    options.env ?? process.env,
    entries.map((e) => e.manifest.id),
  )) {
    log.warn(
      `Unknown configuration variable ${unknown.name} is ignored${unknown.suggestion === undefined ? '' : `; did you mean ${unknown.suggestion}?`}`,
      {
        variable: unknown.name,
        ...(unknown.suggestion === undefined ? {} : { suggestion: unknown.suggestion }),
      },
    );
  }
  const orchestrator = await Orchestrator.create(config, entries, log);
  const version = packageVersion();
  const metrics = g.POLYEVAL_METRICS === 'on' ? createMetrics(orchestrator, { version }) : undefined;
  // The 2023 orchestrator's reentrance websockets: accepted by the HTTP server, paired and used by
  // the Wikifunctions routes.
  const sockets = new SocketPairing();
  const app = createApp({
    config,
    orchestrator,
    log,
    sockets,
    ...(metrics === undefined ? {} : { metrics }),
    version,
  });
  const http = createHttpServer(app, g, createWikifunctionsSocketAcceptor(sockets, REENTRANCE_LIMITS.bytes));

  await new Promise<void>((resolve, reject) => {
    http.server.once('error', reject);
    http.server.listen(g.PORT, g.POLYEVAL_HOST, () => {
      http.server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = http.server.address() as AddressInfo;
  log.info('Listening', { port, address, version, languages: orchestrator.manifests().map((m) => m.id) });

  let stopping: Promise<void> | undefined;
  const stop = (reason = 'stop'): Promise<void> => {
    stopping ??= (async () => {
      const started = performance.now();
      log.info('Shutting down', {
        reason,
        callsInFlight: orchestrator.callsInFlight,
        graceMs: g.POLYEVAL_SHUTDOWN_TIMEOUT_MS,
      });
      const closing = orchestrator.close({ graceMs: g.POLYEVAL_SHUTDOWN_TIMEOUT_MS });
      const drained = http.drain();
      await closing;
      // Answers of the last calls are being written; requests that are not calls (a slow upload)
      // get a moment more, then every connection is closed.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, 2_000)))]);
      clearTimeout(timer);
      http.server.closeAllConnections();
      log.info('Stopped', { ms: Math.round(performance.now() - started) });
    })();
    return stopping;
  };

  if (options.handleSignals ?? false) {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        log.warn('Second signal: exiting now', { signal });
        process.exit(1);
      }
      signalled = true;
      // The bound: the grace period, then time for cancelled sandboxes to die and answers to flush.
      const forced = setTimeout(() => {
        log.error('Shutdown did not finish in time: exiting', { signal });
        process.exit(1);
      }, g.POLYEVAL_SHUTDOWN_TIMEOUT_MS + 10_000);
      forced.unref();
      stop(signal).then(
        () => process.exit(0),
        (error: unknown) => {
          log.error('Shutdown failed', { error: error instanceof Error ? error.message : String(error) });
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  const host = address.includes(':') ? `[${address}]` : address;
  return { config, orchestrator, metrics, http, url: `http://${host}:${port}`, stop };
}
