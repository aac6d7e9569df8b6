// Integers beyond 2^53 arrive as BigInt.
function inc(n) {
  return n + 1n;
}
