// The JavaScript family of the security catalogue (attacks in ./attacks/javascript.ts), run
// against the real server with planted canaries (./harness.ts).

import { JAVASCRIPT_ATTACKS } from './attacks/javascript.js';
import { runAttacks } from './harness.js';

runAttacks('javascript', JAVASCRIPT_ATTACKS);
