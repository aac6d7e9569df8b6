// Boot: `node dist/src/main.js` starts the service (src/service.ts) with signal handling: SIGTERM
// or SIGINT stops accepting, answers 503 to new calls, lets calls in flight finish (cancelling
// those still running after POLYEVAL_SHUTDOWN_TIMEOUT_MS), then exits. A configuration error stops
// the service at once with a message naming the variable, exit code 2 (as `polyeval serve`).
// Nothing the service writes to stdout or stderr waits on the reader (src/logger.ts,
// docs/reliability.md).

import { processSinks } from './logger.js';
import { startService, startupFailure } from './service.js';

// Node's own warnings go to stderr through the non-blocking sink (src/logger.ts) instead of its
// default handler, whose write to a stderr pipe nobody reads would wait or grow without bound.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  processSinks().stderr.write(`(node:${process.pid}) ${warning.name}: ${warning.message}\n`);
});

startService({ handleSignals: true }).catch((error: unknown) => {
  const { message, exitCode } = startupFailure(error);
  process.stderr.write(`polyeval: cannot start: ${message}\n`);
  process.exit(exitCode);
});
