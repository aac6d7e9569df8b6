// The Lua family of the security catalogue (attacks in ./attacks/lua.ts), run against the real
// server with planted canaries (./harness.ts).

import { LUA_ATTACKS } from './attacks/lua.js';
import { runAttacks } from './harness.js';

runAttacks('lua', LUA_ATTACKS);
