// Guest output, counted against the call's byte limit (stdout and stderr together) and cut exactly
// at it. Used by both sandbox hosts' worker sides (worker-runtime.ts, process-worker.ts): each
// piece that fits is handed on at once (streamed, so that a sandbox killed at its deadline still
// gives back what it printed); the piece that crosses the limit is cut, and nothing passes after.

import type { GuestError } from '../contract.js';

export type OutputStream = 'stdout' | 'stderr';

/** The OUTPUT_LIMIT error every runner reports the same way. */
export function outputLimitError(call: {
  readonly function: string;
  readonly limits: { readonly outputBytes: number };
}): GuestError {
  return {
    code: 'OUTPUT_LIMIT',
    message: `Cannot run "${call.function}": output limit of ${call.limits.outputBytes} bytes exceeded`,
  };
}

export class OutputMeter {
  private used = 0;
  private over = false;

  /**
   * @param emit receives each accepted piece of text
   * @param onExceeded called once, when a write crosses the limit (after the cut piece is emitted)
   */
  constructor(
    readonly limit: number,
    private readonly emit: (stream: OutputStream, text: string) => void,
    private readonly onExceeded: () => void = () => undefined,
  ) {}

  /** True once output went over the limit. */
  get exceeded(): boolean {
    return this.over;
  }

  /** Appends output; false once the limit is reached (the guest must then be stopped). */
  write(stream: OutputStream, text: string): boolean {
    if (this.over) return false;
    const bytes = Buffer.byteLength(text);
    if (this.used + bytes <= this.limit) {
      this.used += bytes;
      this.emit(stream, text);
      return true;
    }
    // Cut at the byte limit, on a character boundary: a character the cut would split is dropped
    // (decoding half of it would give U+FFFD, 3 bytes, and pass the limit).
    const bytesOf = Buffer.from(text);
    let end = this.limit - this.used;
    while (end > 0 && ((bytesOf[end] ?? 0) & 0xc0) === 0x80) end--;
    const cut = bytesOf.subarray(0, end).toString();
    this.used = this.limit;
    this.over = true;
    if (cut.length > 0) this.emit(stream, cut);
    this.onExceeded();
    return false;
  }
}
