// The shared conformance cases (test/conformance/cases/*.json) run against WebAssembly components:
// each fixture is a component in WebAssembly text, interpreters/wasm/component/conformance/<case>.wat
// (canonical ABI by hand: typed exports), sent inline as `code` through the real server, judged by
// the same code as the main suite (scripts/lib/conformance.ts). A case without a fixture is skipped
// only with the reason declared in interpreters/wasm/component/conformance-skips.json.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LanguageUnderTest,
  languagesUnderTest,
  runCase,
  skipReason,
} from '../../scripts/lib/conformance.js';
import { loadCases } from '../../scripts/lib/conformance-cases.js';
import { type RunningServer, startServer } from '../helpers/server.js';

const wasm = languagesUnderTest(['wasm'])[0]!;
const skips = JSON.parse(
  readFileSync(new URL('../../interpreters/wasm/component/conformance-skips.json', import.meta.url), 'utf8'),
) as Record<string, string>;
const components: LanguageUnderTest = {
  id: 'wasm',
  manifest: { ...wasm.manifest, conformanceSkips: skips },
  sourceDir: new URL('../../interpreters/wasm/component/', import.meta.url),
};
const cases = loadCases();

describe('conformance: wasm components', () => {
  let server: RunningServer | undefined;
  beforeAll(async () => {
    server = await startServer({ POLYEVAL_LANGUAGES: 'wasm', POLYEVAL_POOL_SIZE: '2' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('declares skips only for cases that exist', () => {
    expect(Object.keys(skips).filter((name) => !cases.some((c) => c.name === name))).toEqual([]);
  });

  for (const spec of cases) {
    const reason = skipReason(components, spec.name);
    if (reason !== undefined) {
      it.skip(`${spec.name} (skipped: ${reason})`, () => {});
      continue;
    }
    it(spec.name, { timeout: 60_000 }, async () => {
      const result = await runCase(server!.url, components, spec);
      expect(result.reason, spec.description).toBeUndefined();
      expect(result.status).toBe('pass');
    });
  }
});
