// Attacks on the HTTP layer (Node's server with our limits, hono, the routes' own readers, the
// orchestrator's admission). The server for this family runs with small limits so that each attack
// stays quick: a 1 MiB body cap, 1 s to send headers, 3 s to send a request, a queue of 8 per
// language (see http.test.ts). Covered elsewhere and not repeated: field validation, unknown fields,
// a non-JSON content type, unknown routes (test/e2e/http.test.ts), the declared-length 413 before
// reading, 431 for one big header, 408 for unfinished headers, the connection cap with 16 sockets,
// client disconnects cancelling calls (test/e2e/operations.test.ts), limits clamped to the ceiling
// (test/e2e/javascript.test.ts). Here: every way round the body cap, slow clients in numbers,
// thousands of connections, a queue flood across languages, malformed and pathological JSON,
// header floods, request-smuggling shapes, prototype keys in routes and fields.
//
// The attacks are in ./http/ (framing.ts, load.ts, parsing.ts, and wire.ts for the raw-socket
// helpers); this file lists them in the catalogue's order.

import type { Attack } from '../harness.js';
import { FRAMING_ATTACKS } from './http/framing.js';
import { LOAD_ATTACKS } from './http/load.js';
import { PARSING_ATTACKS } from './http/parsing.js';

export { HTTP_LIMITS } from './http/wire.js';

export const HTTP_ATTACKS: readonly Attack[] = [...FRAMING_ATTACKS, ...LOAD_ATTACKS, ...PARSING_ATTACKS];
