import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError, ServiceError } from '../../src/errors.js';
import { manifestSchema } from '../../src/executor/manifest.js';
import { effectiveLimits, limitPolicy } from '../../src/orchestrator/limits.js';

const manifest = (limits: Record<string, unknown> = {}) =>
  manifestSchema.parse({
    id: 'demo',
    displayName: 'Demo',
    engine: { name: 'Demo' },
    fixtureExtension: 'txt',
    limits,
  });

describe('limit policy', () => {
  it('takes global defaults and ceilings when nothing overrides them', () => {
    const config = loadConfig({});
    const policy = limitPolicy(manifest(), config.language('demo'), config.global);
    expect(policy.defaults).toEqual({ timeoutMs: 2000, memoryMb: 64, outputBytes: 65536 });
    expect(policy.ceilings).toEqual({ timeoutMs: 15000, memoryMb: 512, outputBytes: 4194304 });
  });

  it('applies precedence: operator per-language > manifest > global', () => {
    const config = loadConfig({ POLYEVAL_DEMO_TIMEOUT_MS: '3000', POLYEVAL_DEMO_MEMORY_MB_MAX: '128' });
    const policy = limitPolicy(
      manifest({ timeoutMs: { default: 5000 }, memoryMb: { default: 100 } }),
      config.language('demo'),
      config.global,
    );
    expect(policy.defaults.timeoutMs).toBe(3000);
    expect(policy.defaults.memoryMb).toBe(100);
    expect(policy.ceilings.memoryMb).toBe(128);
  });

  it('never lets a manifest raise a ceiling above the operator global ceiling', () => {
    const config = loadConfig({ POLYEVAL_TIMEOUT_MS_MAX: '4000' });
    const policy = limitPolicy(
      manifest({ timeoutMs: { max: 60000, default: 50000 } }),
      config.language('demo'),
      config.global,
    );
    expect(policy.ceilings.timeoutMs).toBe(4000);
    expect(policy.defaults.timeoutMs).toBe(4000);
  });

  it('lets a request lower a limit but clamps it at the ceiling', () => {
    const config = loadConfig({});
    const policy = limitPolicy(manifest(), config.language('demo'), config.global);
    expect(effectiveLimits(policy, { timeoutMs: 100 })).toEqual({
      timeoutMs: 100,
      memoryMb: 64,
      outputBytes: 65536,
    });
    expect(effectiveLimits(policy, { timeoutMs: 10 ** 9, outputBytes: 10 ** 12 })).toMatchObject({
      timeoutMs: 15000,
      outputBytes: 4194304,
    });
  });
});

describe('configuration', () => {
  it('refuses invalid values, naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ POLYEVAL_POOL_SIZE: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ POLYEVAL_TIMEOUT_MS: '9000', POLYEVAL_TIMEOUT_MS_MAX: '1000' })).toThrow(
      /above/,
    );
    expect(() => loadConfig({}).language('demo')).not.toThrow();
    expect(() => loadConfig({ POLYEVAL_DEMO_TIMEOUT_MS: '-1' }).language('demo')).toThrow(
      /POLYEVAL_DEMO_TIMEOUT_MS/,
    );
  });

  it('hands unknown per-language variables to the executor as settings, prefix stripped', () => {
    const overrides = loadConfig({
      POLYEVAL_MY_LANG_ISOLATION: 'required',
      POLYEVAL_MY_LANG_POOL_SIZE: '3',
    }).language('my-lang');
    expect(overrides.settings).toEqual({ ISOLATION: 'required' });
    expect(overrides.poolSize).toBe(3);
  });

  it('is frozen', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config.global)).toBe(true);
  });
});

describe('limit floors', () => {
  it('refuse a call asking for less than the engine runs in, naming the floor and the field', () => {
    const config = loadConfig({});
    const policy = limitPolicy(manifest({ memoryMb: { min: 16 } }), config.language('demo'), config.global);
    expect(policy.floors).toEqual({ timeoutMs: 1, memoryMb: 16, outputBytes: 1 });
    expect(effectiveLimits(policy, { memoryMb: 16 }).memoryMb).toBe(16);
    let error: unknown;
    try {
      effectiveLimits(policy, { memoryMb: 1 }, '"demo"');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).status).toBe(400);
    expect((error as ServiceError).detail).toBe(
      'Invalid request: limits.memoryMb: 1 is below the least "demo" runs in: 16 MiB (the engine\'s own memory); ask for 16 or more',
    );
    expect((error as ServiceError).extra.errors).toEqual([
      { pointer: '/limits/memoryMb', message: expect.stringContaining('16 MiB') },
    ]);
  });

  it('raise a default below the floor to it, and refuse a ceiling below it at boot', () => {
    const low = loadConfig({ POLYEVAL_DEMO_MEMORY_MB: '4' });
    expect(
      limitPolicy(manifest({ memoryMb: { min: 16 } }), low.language('demo'), low.global).defaults.memoryMb,
    ).toBe(16);
    const tight = loadConfig({ POLYEVAL_DEMO_MEMORY_MB_MAX: '8', POLYEVAL_DEMO_MEMORY_MB: '8' });
    expect(() =>
      limitPolicy(manifest({ memoryMb: { min: 16 } }), tight.language('demo'), tight.global),
    ).toThrow(ConfigError);
  });
});
