// The HTTP family of the security catalogue (attacks in ./attacks/http.ts), run against the real
// server with planted canaries (./harness.ts) and small HTTP limits so that each attack is quick.

import { HTTP_ATTACKS, HTTP_LIMITS } from './attacks/http.js';
import { runAttacks } from './harness.js';

runAttacks('http', HTTP_ATTACKS, { env: HTTP_LIMITS });
