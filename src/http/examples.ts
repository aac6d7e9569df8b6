// Worked examples per language, from the language's own conformance fixture of the first shared
// case (add(2, 3) → 5): the playground's starter code, and the request and answer examples of the
// OpenAPI document (so that Swagger UI's "Try it out" sends a call that runs). A language without
// that fixture has no example.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Manifest } from '../executor/manifest.js';
import { interpretersSourceDir } from '../paths.js';

/** The shared conformance case every language implements first: add(2, 3) → 5. */
export const EXAMPLE = { fixture: '001-add-integers', function: 'add', args: [2, 3], value: 5 } as const;

export interface LanguageExample {
  readonly code: string;
  readonly function: string;
  readonly args: readonly number[];
  /** What the call returns. */
  readonly value: number;
}

/** The example of one language, or undefined when it has no fixture for the first case. */
export function languageExample(manifest: Manifest): LanguageExample | undefined {
  const file = new URL(
    `${manifest.id}/conformance/${EXAMPLE.fixture}.${manifest.fixtureExtension}`,
    interpretersSourceDir,
  );
  let code: string;
  try {
    const bytes = readFileSync(fileURLToPath(file));
    try {
      code = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      // A binary fixture: languages that take binary code take it as base64.
      code = bytes.toString('base64');
    }
  } catch {
    return undefined;
  }
  return { code, function: EXAMPLE.function, args: EXAMPLE.args, value: EXAMPLE.value };
}
