function pow2(n) {
  return 2n ** BigInt(n);
}
