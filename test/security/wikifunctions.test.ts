// The Wikifunctions/Avro family of the security catalogue (attacks in ./attacks/wikifunctions.ts),
// run against the real server with planted canaries (./harness.ts).

import { WIKIFUNCTIONS_ATTACKS } from './attacks/wikifunctions.js';
import { runAttacks } from './harness.js';

runAttacks('wikifunctions', WIKIFUNCTIONS_ATTACKS);
