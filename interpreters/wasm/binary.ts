// Byte-level reading and writing of the WebAssembly binary format: LEB128 integers, names and a
// growable output buffer. Used by the instrumenter (instrument.ts), which rewrites modules at the
// byte level so that everything it does not touch is kept exactly as the author shipped it.

/** Thrown when the bytes do not follow the format (a truncated or malformed module). */
export class BinaryFormatError extends Error {
  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'BinaryFormatError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class Reader {
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    pos = 0,
    readonly end = bytes.length,
  ) {
    this.pos = pos;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  fail(message: string): never {
    throw new BinaryFormatError(message, this.pos);
  }

  u8(): number {
    if (this.pos >= this.end) this.fail('Unexpected end of data');
    return this.bytes[this.pos++]!;
  }

  peek(): number {
    if (this.pos >= this.end) this.fail('Unexpected end of data');
    return this.bytes[this.pos]!;
  }

  /** Unsigned LEB128 of at most 32 bits. */
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.u8();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) {
        const last = this.u8();
        if ((last & 0x80) !== 0 || last > 0x0f) this.fail('Integer too large');
        result += last * 2 ** 35;
        break;
      }
    }
    if (result > 0xffff_ffff) this.fail('Integer too large');
    return result;
  }

  /** Unsigned LEB128 of at most 64 bits, as a number (exact below 2^53, saturating beyond). */
  u64(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      const byte = this.u8();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
    return this.fail('Integer too large');
  }

  /** Signed LEB128 (any width up to 64 bits), as a number; used for block and heap types. */
  sleb(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    let count = 0;
    do {
      byte = this.u8();
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (++count > 10) this.fail('Integer too large');
    } while ((byte & 0x80) !== 0);
    if ((byte & 0x40) !== 0) result -= 2 ** shift;
    return result;
  }

  /** Skips a LEB128 integer of any width. */
  skipLeb(): void {
    let count = 0;
    while ((this.u8() & 0x80) !== 0) {
      if (++count >= 10) this.fail('Integer too large');
    }
  }

  skip(n: number): void {
    if (this.pos + n > this.end) this.fail('Unexpected end of data');
    this.pos += n;
  }

  name(): string {
    const length = this.u32();
    const start = this.pos;
    this.skip(length);
    try {
      return utf8.decode(this.bytes.subarray(start, start + length));
    } catch {
      return this.fail('Invalid UTF-8 in a name');
    }
  }
}

/** A growable byte buffer. */
export class Writer {
  private buffer: Uint8Array;
  length = 0;

  constructor(capacity = 1024) {
    this.buffer = new Uint8Array(capacity);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  u8(byte: number): this {
    this.reserve(1);
    this.buffer[this.length++] = byte;
    return this;
  }

  u32(value: number): this {
    let v = value >>> 0;
    do {
      let byte = v & 0x7f;
      v >>>= 7;
      if (v !== 0) byte |= 0x80;
      this.u8(byte);
    } while (v !== 0);
    return this;
  }

  /** Signed LEB128 of a bigint (for i64.const and friends). */
  s64(value: bigint): this {
    let v = BigInt.asIntN(64, value);
    for (;;) {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
      this.u8(done ? byte : byte | 0x80);
      if (done) return this;
    }
  }

  bytes(data: Uint8Array): this {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
    return this;
  }

  name(text: string): this {
    const data = new TextEncoder().encode(text);
    return this.u32(data.length).bytes(data);
  }

  /** Writes a section or body: its size as LEB128, then its content. */
  sized(content: Uint8Array): this {
    return this.u32(content.length).bytes(content);
  }

  finish(): Uint8Array<ArrayBuffer> {
    return this.buffer.slice(0, this.length);
  }
}
