// The Python family of the security catalogue (attacks in ./attacks/python.ts), run against the
// real server with planted canaries (./harness.ts).

import { PYTHON_ATTACKS } from './attacks/python.js';
import { runAttacks } from './harness.js';

runAttacks('python', PYTHON_ATTACKS);
