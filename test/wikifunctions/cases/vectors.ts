// The golden Avro vectors, sent as they are.

import { fixture } from '../helpers.js';
import { type Expectation, type Language, value } from './case.js';

export interface VectorCase {
  readonly name: string;
  readonly language: Language;
  readonly base64: string;
  readonly expect: Expectation;
}

export function vectorCases(): VectorCase[] {
  const vectors = fixture<Record<string, Record<string, string>>>('avro_request_vectors.json');
  const out: VectorCase[] = [];
  for (const [name, vector] of Object.entries(vectors)) {
    const language: Language = name.startsWith('python') ? 'python' : 'javascript';
    const expect: Expectation =
      name === 'javascript_throw.json'
        ? { error: 'Z507', text: 'Hello, this is a good day to die' }
        : value('add_expected.json');
    for (const key of ['v001_unversioned_base64', 'v002_base64', 'v003_base64', 'v004_base64']) {
      out.push({ name: `${name} ${key}`, language, base64: vector[key]!, expect });
    }
  }
  return out;
}
