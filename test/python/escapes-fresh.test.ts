// The same escape attempts with POLYEVAL_PYTHON_INTERPRETER_MODE=fresh (a new interpreter for every
// call, the design before reset in place): both modes must keep every escape test green.

import { defineEscapeSuite } from './escape-suite.js';

defineEscapeSuite({ POLYEVAL_PYTHON_INTERPRETER_MODE: 'fresh' });
