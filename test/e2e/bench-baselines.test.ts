// The baselines `npm run bench` prints beside the service's figures (scripts/lib/bare-server.ts).
// A baseline that answered wrongly, or without running the engine, would make every ratio in the
// benchmark a lie: each must do the work it claims, with the real executor and its limits.

import { afterAll, describe, expect, it } from 'vitest';
import { type BareServer, startBareServer } from '../../scripts/lib/bare-server.js';
import { postJson } from '../helpers/server.js';

const started: BareServer[] = [];
afterAll(() => {
  for (const server of started) server.close();
});

async function bare(language?: string): Promise<string> {
  const server = await startBareServer(language);
  started.push(server);
  return server.url;
}

describe('bench baselines', () => {
  it('hop floor: the echo worker answers without any engine', async () => {
    const url = await bare();
    const r = await postJson(url, { code: 'not a program', args: [1, 2, 3] });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, value: 3 });
  });

  it('engine floor: the real JavaScript executor runs the code, with its limits and errors', async () => {
    const url = await bare('javascript');
    const add = await postJson(`${url}/v1/evaluate`, {
      code: 'function add(a, b) { return a + b }',
      function: 'add',
      args: [2, 3],
    });
    expect(add.body).toMatchObject({ ok: true, value: 5 });
    const loop = await postJson(`${url}/v1/evaluate`, { code: 'function main() { for (;;) {} }' });
    expect(loop.body).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
  });

  it('engine floor: the real wasm executor deploys a module and calls it by id', async () => {
    const url = await bare('wasm');
    const code =
      '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))';
    const deployed = await postJson(`${url}/v1/modules`, { code });
    expect(deployed.status).toBe(201);
    const id = (deployed.body as { id: string }).id;
    const add = await postJson(`${url}/v1/evaluate`, { module: id, function: 'add', args: [2, 3] });
    expect(add.body).toMatchObject({ ok: true, value: 5 });
    const garbage = await postJson(`${url}/v1/modules`, { code: 'not wasm' });
    expect(garbage.status).toBe(422);
  });
});
