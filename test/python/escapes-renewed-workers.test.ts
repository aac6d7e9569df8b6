// The same escape attempts with POLYEVAL_PYTHON_INTERPRETERS_PER_WORKER > 1 (fresh interpreters
// prepared in turn inside one worker): the faster mode must keep every escape test green, including
// "nothing left behind" between calls served by the same worker.

import { defineEscapeSuite } from './escape-suite.js';

defineEscapeSuite({ POLYEVAL_PYTHON_INTERPRETERS_PER_WORKER: '16' });
