// What Math.random reveals about how a QuickJS context was made. QuickJS seeds a new context's
// xorshift64* state from gettimeofday (microseconds, at millisecond resolution under emscripten);
// the heap-snapshot runner instead writes a crypto seed at every restore. So a first Math.random()
// that some millisecond of the recent past predicts exactly comes from a context made for the call,
// and one that no millisecond predicts comes from a restored snapshot. Written here rather than
// imported from interpreters/javascript/snapshot.ts: the test's oracle must not share the code it
// checks.

/** One xorshift64* step from `state` and the double QuickJS's Math.random makes of it. */
function firstRandom(state: bigint): number {
  let s = state;
  s ^= s >> 12n;
  s ^= (s << 25n) & 0xffffffffffffffffn;
  s ^= s >> 27n;
  const out = (s * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, (0x3ffn << 52n) | (out >> 12n), true);
  return view.getFloat64(0, true) - 1;
}

/** The millisecond in [fromMs, toMs] whose clock seed yields `value` first, or undefined. */
export function clockSeedOf(value: number, fromMs: number, toMs: number): number | undefined {
  for (let ms = Math.floor(fromMs); ms <= toMs; ms++) {
    if (firstRandom(BigInt(ms) * 1000n) === value) return ms;
  }
  return undefined;
}
