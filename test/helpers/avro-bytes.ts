// Avro's primitive encodings, byte by byte, for tests that build bodies by hand so that they can
// lie (forged lengths and block counts, 11-byte varints) where src/wikifunctions/avro.ts would
// refuse to write them.

/** The zig-zag varint of n (any size: 2^70 makes an 11-byte varint no decoder should accept). */
export function avroLong(n: bigint | number): number[] {
  let v = BigInt(n);
  v = v >= 0n ? v * 2n : -v * 2n - 1n;
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

/** An Avro string: its UTF-8 byte length, then the bytes. */
export function avroString(text: string): number[] {
  return [...avroLong(Buffer.byteLength(text)), ...Buffer.from(text)];
}
