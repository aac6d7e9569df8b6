// Guest output, counted against the call's byte limit (stdout and stderr together) and cut exactly
// at it. Used where output is produced (worker-runtime.ts, process-worker.ts) and counted again
// wherever it is received (the hosts trust no worker to have cut it): each
// piece that fits is handed on at once (streamed, so that a sandbox killed at its deadline still
// gives back what it printed); the piece that crosses the limit is cut, and nothing passes after.

export type OutputStream = 'stdout' | 'stderr';

/** Output as it travels from a sandbox's worker side to its host (both protocols). */
export interface OutputMessage {
  readonly kind: 'output';
  readonly id: number;
  readonly stream: OutputStream;
  readonly text: string;
}

export class OutputMeter {
  private used = 0;
  private over = false;

  /**
   * @param emit receives each accepted piece of text
   * @param onExceeded called once, when a write crosses the limit (after the cut piece is emitted)
   */
  constructor(
    private readonly limit: number,
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

/** Output kept by a host for one call: both streams, counted again against the limit. */
export class CapturedOutput {
  stdout = '';
  stderr = '';
  private readonly meter: OutputMeter;

  constructor(limit: number) {
    this.meter = new OutputMeter(limit, (stream, text) => {
      if (stream === 'stdout') this.stdout += text;
      else this.stderr += text;
    });
  }

  write(stream: OutputStream, text: string): void {
    this.meter.write(stream, text);
  }
}
