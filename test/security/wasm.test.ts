// The WebAssembly family of the security catalogue (attacks in ./attacks/wasm.ts), run against the
// real server with planted canaries (./harness.ts).

import { WASM_ATTACKS } from './attacks/wasm.js';
import { runAttacks } from './harness.js';

runAttacks('wasm', WASM_ATTACKS);
