// Boot: `node dist/src/main.js` starts the service (src/service.ts) with signal handling: SIGTERM
// or SIGINT stops accepting, answers 503 to new calls, lets calls in flight finish (cancelling
// those still running after POLYEVAL_SHUTDOWN_TIMEOUT_MS), then exits. A configuration error stops
// the service at once with a message naming the variable, exit code 2 (as `polyeval serve`).
// Nothing the service writes to stdout or stderr waits on the reader (src/logger.ts,
// docs/reliability.md).

import { routeProcessWarnings } from './logger.js';
import { startService, startupFailure } from './service.js';

routeProcessWarnings();

startService({ handleSignals: true }).catch((error: unknown) => {
  const { message, exitCode } = startupFailure(error);
  process.stderr.write(`polyeval: cannot start: ${message}\n`);
  process.exit(exitCode);
});
