// Escape attempts against the Python executor with the default, strict settings: a new worker for
// every interpreter, one call per interpreter. The cases are in escape-suite.ts.

import { defineEscapeSuite } from './escape-suite.js';

defineEscapeSuite({});
