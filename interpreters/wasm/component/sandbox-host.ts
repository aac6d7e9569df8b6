// Entry of the sandbox host process that runs WebAssembly components (started by components.ts
// through the generic process host, locked down like Python's). Its main thread only keeps warm,
// never-used workers (component-worker.ts); each call runs in one of them, which reads the
// component's deployed files (instrumented core modules and generated glue) from the store folder
// the host may read, and is thrown away after the call.

import { serveSandboxHost } from '../../../src/executor/host/process-runtime.js';

/** The language part of the host's init config. */
export interface ComponentHostConfig {
  /** The component store: <storeDir>/<id>/ holds manifest.json, glue.mjs and the core modules. */
  readonly storeDir: string;
}

serveSandboxHost({
  worker: new URL('./component-worker.js', import.meta.url),
  prepare(raw) {
    const config = raw as ComponentHostConfig;
    return { workerData: { storeDir: config.storeDir }, facts: { store: 'files' } };
  },
});
