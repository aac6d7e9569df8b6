// The orchestrator's evaluator-facing fixtures (canonical form, pre-2021 "Z1000K0 = ..." code) as
// cases: sent as they are, and with today's code convention.

import { fixture } from '../helpers.js';
import type { Case, Language } from './case.js';

function modernize(body: unknown): unknown {
  const copy = structuredClone(body) as {
    Z7K1: { Z8K5: string; Z8K4: [unknown, { Z14K3: { Z16K2: string } }] };
  };
  const name = copy.Z7K1.Z8K5;
  copy.Z7K1.Z8K4[1].Z14K3.Z16K2 = `def ${name}(${name}K1, ${name}K2):\n    return str(int(${name}K1) + int(${name}K2))`;
  return copy;
}

export function orchestratorCases(): Case[] {
  const language: Language = 'python';
  const cases: Case[] = [];
  for (const file of [
    'evaluated.json',
    'evaluated-map-result-only.json',
    'evaluated-map-basic.json',
    'evaluated-map-error.json',
    'evaluated-failed.json',
    'evaluated-with-1099.json',
  ]) {
    const body = fixture<{ Z7K1: { Z8K5: string } }>(`orchestrator/${file}`);
    cases.push(
      {
        name: `orchestrator/${file} as sent (pre-2021 "K0 =" code)`,
        language,
        body,
        transports: ['json', 'avro-0.0.2'],
        expect: { error: 'Z507', text: body.Z7K1.Z8K5 },
        difference:
          'The orchestrator test stubs the evaluator (answer "13", or an HTTP failure) and never runs this code, ' +
          'which uses the retired "ZnnnK0 = ..." convention: a real evaluator finds no function to call.',
      },
      {
        name: `orchestrator/${file} with today's code convention`,
        language,
        body: modernize(body),
        transports: ['json', 'avro-0.0.2', 'avro-0.0.4'],
        expect: { value: '13' },
      },
    );
  }
  cases.push({
    name: 'orchestrator/first-implementation-evaluator-down.json',
    language,
    body: fixture('orchestrator/first-implementation-evaluator-down.json'),
    transports: ['json', 'avro-0.0.2'],
    expect: { value: { Z1K1: 'Z40', Z40K1: 'Z42' } },
    difference:
      'Z41 in the fixture is the orchestrator falling back to the composition when the evaluator is down; ' +
      'a working evaluator runs the first implementation, "lambda: False".',
  });
  return cases;
}
