// safeText / safeName (src/executor/echo.ts): what the service echoes is short and holds no
// control, bidirectional or lone-surrogate character; what is safe is left as it is.

import { describe, expect, it } from 'vitest';
import { ECHO_MAX_CHARS, safeGuestError, safeName, safeText } from '../../src/executor/echo.js';

const UNSAFE = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;

describe('echo', () => {
  it('leaves safe text alone, keeps lines in texts, escapes them in names', () => {
    expect(safeText('Cannot run "main": ünïcødé 😀')).toBe('Cannot run "main": ünïcødé 😀');
    expect(safeText('a\nb\tc')).toBe('a\nb\tc');
    expect(safeName('a\nb')).toBe('a\\u000ab');
  });

  it('escapes C0, DEL, C1, bidi controls and lone surrogates', () => {
    const out = safeText('\u0000\u001b[31m\u007f\u0085\u009b\u202e\u2066\u200f\u061c\ud800x\udc00');
    expect(UNSAFE.test(out)).toBe(false);
    expect(out).toBe('\\u0000\\u001b[31m\\u007f\\u0085\\u009b\\u202e\\u2066\\u200f\\u061c\\ud800x\\udc00');
  });

  it('cuts long text at the cap, never inside an escape or a surrogate pair, and says so', () => {
    const long = safeText('y'.repeat(3_000_000));
    expect(long.startsWith('y'.repeat(ECHO_MAX_CHARS))).toBe(true);
    expect(long.length).toBeLessThan(ECHO_MAX_CHARS + 64);
    expect(long).toMatch(/cut, 3000000 characters in all\)$/);
    for (let shift = 0; shift < 8; shift++) {
      const out = safeText(`${'a'.repeat(ECHO_MAX_CHARS - 10 + shift)}${'\u0000'.repeat(20)}`);
      expect(out).toMatch(/^a+(?:\\u0000)*… \(cut/);
      const emoji = safeText(`${'a'.repeat(ECHO_MAX_CHARS - 1)}😀😀`);
      expect(UNSAFE.test(emoji)).toBe(false);
    }
    expect(safeName('n'.repeat(1000)).length).toBeLessThan(200);
  });

  it('makes a guest error safe in message, type and stack, and returns a safe one unchanged', () => {
    const safe = { code: 'RUNTIME_ERROR' as const, message: 'Cannot run "main": boom', type: 'Error' };
    expect(safeGuestError(safe)).toBe(safe);
    const unsafe = safeGuestError({
      code: 'RUNTIME_ERROR',
      message: `\u0000${'m'.repeat(5000)}`,
      type: '\u202eT',
      stack: `at f\n${'s'.repeat(10_000)}\u0000`,
    });
    for (const text of [unsafe.message, unsafe.type!, unsafe.stack!])
      expect(UNSAFE.test(text.replace(/\n/g, ''))).toBe(false);
    expect(unsafe.message.length).toBeLessThan(ECHO_MAX_CHARS + 64);
    expect(unsafe.stack!.startsWith('at f\n')).toBe(true);
  });
});
