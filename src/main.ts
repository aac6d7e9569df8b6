// Boot: read the configuration, discover the languages, start their executors warming, and serve
// HTTP with hardened server limits. SIGTERM/SIGINT stop accepting, let in-flight calls finish
// (each is bounded by its own time limit), then exit.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';
import { discoverLanguages } from './executor/registry.js';
import { createLogger } from './logger.js';
import { Orchestrator } from './orchestrator/orchestrator.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const g = config.global;
  const log = createLogger(g.POLYEVAL_LOG_LEVEL);
  const orchestrator = await Orchestrator.create(config, discoverLanguages(), log);
  const app = createApp({ config, orchestrator, log });

  const server = serve({
    fetch: app.fetch,
    port: g.PORT,
    hostname: g.POLYEVAL_HOST,
    createServer,
    serverOptions: {
      requestTimeout: g.POLYEVAL_REQUEST_TIMEOUT_MS,
      headersTimeout: g.POLYEVAL_HEADERS_TIMEOUT_MS,
      maxHeaderSize: 16 * 1024,
      keepAliveTimeout: 5_000,
    },
  });
  server.maxConnections = g.POLYEVAL_MAX_CONNECTIONS;
  server.on('listening', () => {
    const { port, address } = server.address() as AddressInfo;
    log.info('Listening', { port, address, languages: orchestrator.manifests().map((m) => m.id) });
  });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('Shutting down', { signal });
    server.close();
    const forced = setTimeout(() => process.exit(1), g.POLYEVAL_TIMEOUT_MS_MAX + 5_000);
    forced.unref();
    orchestrator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  const message =
    error instanceof ConfigError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
  process.stderr.write(`polyeval: cannot start: ${message}\n`);
  process.exit(1);
});
