// The attack catalogue as docs/security.md shows it: every family's attacks (test/security/attacks/),
// rendered as Markdown tables between two markers. test/security/catalogue.test.ts keeps the
// document in sync (UPDATE_SECURITY_CATALOGUE=1 rewrites the block).

import { HTTP_ATTACKS } from './attacks/http.js';
import { JAVASCRIPT_ATTACKS } from './attacks/javascript.js';
import { LUA_ATTACKS } from './attacks/lua.js';
import { PYTHON_ATTACKS } from './attacks/python.js';
import { WASM_ATTACKS } from './attacks/wasm.js';
import { WASM_COMPONENT_ATTACKS } from './attacks/wasm-components.js';
import { WIKIFUNCTIONS_ATTACKS } from './attacks/wikifunctions.js';
import type { Attack, Family } from './harness.js';

export const CATALOGUE: readonly {
  family: Family;
  title: string;
  attacks: readonly Attack[];
}[] = [
  { family: 'javascript', title: 'JavaScript (QuickJS)', attacks: JAVASCRIPT_ATTACKS },
  { family: 'python', title: 'Python (Pyodide)', attacks: PYTHON_ATTACKS },
  { family: 'wasm', title: 'WebAssembly', attacks: [...WASM_ATTACKS, ...WASM_COMPONENT_ATTACKS] },
  { family: 'lua', title: 'Lua', attacks: LUA_ATTACKS },
  { family: 'http', title: 'HTTP', attacks: HTTP_ATTACKS },
  {
    family: 'wikifunctions',
    title: 'Wikifunctions API and Avro',
    attacks: WIKIFUNCTIONS_ATTACKS,
  },
];

export const BEGIN =
  '<!-- catalogue:begin (generated from test/security/attacks/*.ts; UPDATE_SECURITY_CATALOGUE=1 npx vitest run test/security/catalogue.test.ts rewrites it) -->';
export const END = '<!-- catalogue:end -->';

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function status(attack: Attack): 'held' | 'fixed' | 'contained' {
  if (attack.finding !== undefined) return 'fixed';
  if (attack.contained !== undefined) return 'contained';
  return 'held';
}

export function renderCatalogue(): string {
  const lines: string[] = [BEGIN, ''];
  const count = (attacks: readonly Attack[], s: string): number =>
    attacks.filter((a) => status(a) === s).length;
  const all = CATALOGUE.flatMap((f) => f.attacks);
  lines.push(
    '| family | attacks | held | fixed here (regression tests) | contained by an outer layer (reported) |',
  );
  lines.push('| --- | ---: | ---: | ---: | ---: |');
  for (const f of CATALOGUE) {
    lines.push(
      `| [${f.title}](#${f.family}) | ${f.attacks.length} | ${count(f.attacks, 'held')} | ${count(f.attacks, 'fixed')} | ${count(f.attacks, 'contained')} |`,
    );
  }
  lines.push(
    `| **all** | **${all.length}** | **${count(all, 'held')}** | **${count(all, 'fixed')}** | **${count(all, 'contained')}** |`,
  );
  lines.push('');
  lines.push(
    'Every attack passes only if it fails as stated, no canary is read or touched, `/livez` stays responsive',
    "while it runs (its median within 20× the same server's idle median + 250 ms, both printed), the next",
    "honest call in every language succeeds and the server's threads,",
    'descriptors and child processes return to their baseline (see [the harness](#the-harness)).',
  );
  for (const f of CATALOGUE) {
    lines.push('', `<a id="${f.family}"></a>`, `### ${f.title}`, '');
    lines.push(`\`test/security/attacks/${f.family}.ts\`, run by \`test/security/${f.family}.test.ts\`.`, '');
    lines.push('| id | attack | result | status |');
    lines.push('| --- | --- | --- | --- |');
    for (const a of f.attacks) {
      const s = status(a);
      const note =
        s === 'fixed'
          ? `**fixed**: ${a.finding}`
          : s === 'contained'
            ? `**contained**: ${a.contained}`
            : 'held';
      lines.push(`| \`${a.id}\` | ${cell(a.title)} | ${cell(a.result)} | ${cell(note)} |`);
    }
  }
  lines.push('', END);
  return lines.join('\n');
}
