// The WebAssembly components part of the security catalogue (attacks in ./attacks/wasm-components.ts),
// run against the real server with planted canaries (./harness.ts).

import { WASM_COMPONENT_ATTACKS } from './attacks/wasm-components.js';
import { runAttacks } from './harness.js';

// The component sandbox host starts with the server, so that it is part of the baseline counts.
runAttacks('wasm', WASM_COMPONENT_ATTACKS, {
  languages: ['wasm'],
  env: { POLYEVAL_WASM_COMPONENT_SANDBOX: 'eager', POLYEVAL_WASM_TRANSPILE_QUEUE: '2' },
});
