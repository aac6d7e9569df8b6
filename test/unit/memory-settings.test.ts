// The allocator settings the sandbox hosts are started with (SANDBOX_HOST_ENV in process-host.ts)
// are the ones the image gives the service (Dockerfile) and `npm start` gives it unless the caller
// chose another: one setting, written in three places, kept equal here. Its effect is measured by
// `npm run bench`.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SANDBOX_HOST_ENV } from '../../src/executor/host/process-host.js';

const root = new URL('../../', import.meta.url);

describe('glibc allocator settings', () => {
  it('the sandbox hosts get only GLIBC_TUNABLES, equal to the Dockerfile and npm start', () => {
    expect(Object.keys(SANDBOX_HOST_ENV)).toEqual(['GLIBC_TUNABLES']);
    const tunables = SANDBOX_HOST_ENV.GLIBC_TUNABLES!;
    expect(tunables).toMatch(/^glibc\.malloc\.[a-z_]+=\d+(:glibc\.malloc\.[a-z_]+=\d+)*$/);
    const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
    expect(/GLIBC_TUNABLES=(\S+)/.exec(dockerfile)?.[1]).toBe(tunables);
    const scripts = (
      JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: { start: string } }
    ).scripts;
    expect(
      /GLIBC_TUNABLES=\$\{GLIBC_TUNABLES:-(\S+)\} node dist\/src\/main\.js/.exec(scripts.start)?.[1],
    ).toBe(tunables);
  });
});
