// The end-to-end cases of the Wikifunctions API, as data: every fixture of the shared folder (the
// evaluator's test_data, the orchestrator's evaluator-facing fixtures, the Avro vectors) and our
// own cases, one file each under cases/. Each names the language it needs, the body, the transports
// to send it over and what must come back. e2e-javascript.test.ts and e2e-python.test.ts run them
// against the real server.

import type { Case, Language } from './cases/case.js';
import { fixtureCases, requestCases } from './cases/evaluator.js';
import { orchestratorCases } from './cases/orchestrator.js';
import { converterCases, ownCases } from './cases/own.js';

export { ALL, type Case, type Expectation, encodeBody, type Language, type Transport } from './cases/case.js';
export { type VectorCase, vectorCases } from './cases/vectors.js';

export function casesFor(language: Language): Case[] {
  const specific = language === 'javascript' ? requestCases() : orchestratorCases();
  return [...fixtureCases(language), ...specific, ...converterCases(language), ...ownCases(language)];
}
