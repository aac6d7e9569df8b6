// Putting an engine's memory back without making it bigger: a page of anonymous memory that was
// never written is not resident (the kernel maps its shared zero page when it is read), and
// writing it — even writing zeros — makes it resident for the life of the memory, which never
// shrinks. The JavaScript executor's snapshot discovery and the Python reset in place both put a
// whole memory back to an image; both compare page by page and write only what differs.

/** The system's page: the unit in which memory becomes resident. */
const PAGE = 4096;
const ZERO_PAGE = new Uint8Array(PAGE);

/**
 * Makes `target` equal `source` (or all zeros when there is no source; otherwise the same length),
 * writing only the 4 KiB pages that differ: a page equal already is only read. Returns the number
 * of pages written.
 */
export function writeDifferingPages(target: Uint8Array, source?: Uint8Array): number {
  if (source !== undefined && source.length !== target.length) {
    throw new RangeError(`Cannot put back ${source.length} bytes over ${target.length}`);
  }
  let written = 0;
  for (let from = 0; from < target.length; from += PAGE) {
    const to = Math.min(from + PAGE, target.length);
    const want = source === undefined ? ZERO_PAGE.subarray(0, to - from) : source.subarray(from, to);
    if (Buffer.compare(target.subarray(from, to), want) !== 0) {
      target.set(want, from);
      written++;
    }
  }
  return written;
}
