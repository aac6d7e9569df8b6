// Tests start the real server through the same helper the benchmarks use.
export { postJson, type RunningServer, type StartOptions, startServer } from '../../scripts/lib/server.js';
