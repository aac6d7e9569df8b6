// The shared conformance suite inside `npm test`: every case (test/conformance/cases/*.json) for
// every registered language (the registry the server uses), each as its own test, against one real
// server per language (started in beforeAll, closed in afterAll, so one runs at a time). A missing
// fixture fails; a skip comes only from the manifest's conformanceSkips, with its reason in the name.
// `npm run conformance` runs the same cases through the same code (scripts/lib/conformance.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { languagesUnderTest, runCase, skipReason } from '../../scripts/lib/conformance.js';
import { loadCases } from '../../scripts/lib/conformance-cases.js';
import { type RunningServer, startServer } from '../helpers/server.js';

const cases = loadCases();

describe('conformance cases', () => {
  it('are at least 40, each a valid case file', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });
});

for (const language of languagesUnderTest()) {
  describe(`conformance: ${language.id}`, () => {
    let server: RunningServer | undefined;
    beforeAll(async () => {
      server = await startServer({ POLYEVAL_LANGUAGES: language.id, POLYEVAL_POOL_SIZE: '2' });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('declares skips only for cases that exist', () => {
      const unknown = Object.keys(language.manifest.conformanceSkips).filter(
        (name) => !cases.some((c) => c.name === name),
      );
      expect(unknown).toEqual([]);
    });

    for (const spec of cases) {
      const reason = skipReason(language, spec.name);
      if (reason !== undefined) {
        it.skip(`${spec.name} (skipped: ${reason})`, () => {});
        continue;
      }
      it(spec.name, { timeout: 60_000 }, async () => {
        const result = await runCase(server!.url, language, spec);
        expect(result.reason, spec.description).toBeUndefined();
        expect(result.status).toBe('pass');
      });
    }
  });
}
