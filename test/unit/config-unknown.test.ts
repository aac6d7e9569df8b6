// A mistyped POLYEVAL_* variable is found and paired with the name it was probably meant to be;
// every variable the service really reads (globals, per-language, remote, language settings) is not.

import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, LANGUAGE_VARIABLES, unknownVariables } from '../../src/config.js';

const LANGUAGES = ['javascript', 'python', 'wasm', 'lua', 'my-lang'];

describe('unknownVariables', () => {
  it('names each mistyped variable with the closest known name', () => {
    const env = {
      POLYEVAL_POOLSIZE: '4',
      POLYEVAL_TIMEOUT: '100',
      POLYEVAL_MEMORY_MB_MAXX: '9',
      POLYEVAL_PYTHON_POOLSIZE: '2',
      POLYEVAL_JAVASCRPT_SNAPSHOTS: 'off',
      POLYEVAL_MY_LANG_QUEUEMAX: '1',
      POLYEVAL_WHATEVER_ELSE_ENTIRELY: '1',
    };
    expect(unknownVariables(env, LANGUAGES)).toEqual([
      { name: 'POLYEVAL_JAVASCRPT_SNAPSHOTS', suggestion: 'POLYEVAL_JAVASCRIPT_SNAPSHOTS' },
      { name: 'POLYEVAL_MEMORY_MB_MAXX', suggestion: 'POLYEVAL_MEMORY_MB_MAX' },
      { name: 'POLYEVAL_MY_LANG_QUEUEMAX', suggestion: 'POLYEVAL_MY_LANG_QUEUE_MAX' },
      { name: 'POLYEVAL_POOLSIZE', suggestion: 'POLYEVAL_POOL_SIZE' },
      { name: 'POLYEVAL_PYTHON_POOLSIZE', suggestion: 'POLYEVAL_PYTHON_POOL_SIZE' },
      { name: 'POLYEVAL_TIMEOUT', suggestion: 'POLYEVAL_TIMEOUT_MS' },
      { name: 'POLYEVAL_WHATEVER_ELSE_ENTIRELY' },
    ]);
  });

  it('accepts every variable the service reads, and language settings it hands to executors', () => {
    const env: Record<string, string> = { PATH: '/bin', POLYEVALX: '1' };
    for (const name of Object.keys(CONFIG_VARIABLES)) env[name] = '1';
    for (const id of ['JAVASCRIPT', 'PYTHON', 'WASM', 'LUA', 'MY_LANG']) {
      for (const suffix of Object.keys(LANGUAGE_VARIABLES)) env[`POLYEVAL_${id}_${suffix}`] = '1';
      env[`POLYEVAL_REMOTE_${id}`] = 'http://x';
    }
    for (const setting of [
      'POLYEVAL_JAVASCRIPT_SNAPSHOTS',
      'POLYEVAL_PYTHON_ISOLATION',
      'POLYEVAL_PYTHON_HOSTS',
      'POLYEVAL_PYTHON_WARM',
      'POLYEVAL_PYTHON_WARMUP',
      'POLYEVAL_PYTHON_GRACE_MS',
      'POLYEVAL_PYTHON_FS_QUOTA_MB',
      'POLYEVAL_PYTHON_HOST_RSS_LIMIT_MB',
      'POLYEVAL_WASM_CACHE_MB',
      'POLYEVAL_WASM_FUEL_PER_MS',
      'POLYEVAL_WASM_COMPILE_TIMEOUT_MS',
      'POLYEVAL_WASM_WORKER_HEAP_MB',
    ]) {
      env[setting] = '1';
    }
    expect(unknownVariables(env, LANGUAGES)).toEqual([]);
  });
});
