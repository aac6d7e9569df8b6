// Rewrites the Lua module so that its linear memory is imported instead of defined inside it: the
// module then runs on a WebAssembly.Memory the host creates, with a maximum of the call's memory
// limit, and the host can hand a zeroed memory from an earlier call to the next one instead of
// allocating 16 MiB per call (V8 ran a full GC every few instances otherwise; docs/design.md §5). Only
// the memory section moves into the import section; the memory keeps index 0, so the code, the data
// segments and the "memory" export are unchanged.

const SECTION = { import: 2, memory: 5 } as const;

function readU32(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++]!;
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value >>> 0, at];
    shift += 7;
  }
}

function u32(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

export interface MemoryShape {
  readonly initialPages: number;
  readonly maximumPages: number | undefined;
}

/** Returns the rewritten module bytes and the memory's declared limits. */
export function importMemory(bytes: Uint8Array): { bytes: Uint8Array<ArrayBuffer>; memory: MemoryShape } {
  const sections: { id: number; body: Uint8Array }[] = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at++]!;
    const [size, start] = readU32(bytes, at);
    sections.push({ id, body: bytes.subarray(start, start + size) });
    at = start + size;
  }
  const memoryIndex = sections.findIndex((s) => s.id === SECTION.memory);
  const importIndex = sections.findIndex((s) => s.id === SECTION.import);
  if (memoryIndex < 0 || importIndex < 0) throw new Error('The Lua module has no memory or import section');
  const memoryBody = sections[memoryIndex]!.body;
  const [count, limitsAt] = readU32(memoryBody, 0);
  if (count !== 1) throw new Error(`The Lua module defines ${count} memories, expected 1`);
  const flags = memoryBody[limitsAt]!;
  const [initialPages, afterInitial] = readU32(memoryBody, limitsAt + 1);
  const maximumPages = (flags & 1) === 1 ? readU32(memoryBody, afterInitial)[0] : undefined;
  const limits = memoryBody.subarray(limitsAt);

  const importBody = sections[importIndex]!.body;
  const [imports, entriesAt] = readU32(importBody, 0);
  const name = (s: string) => [...u32(s.length), ...new TextEncoder().encode(s)];
  const entry = [...name('env'), ...name('memory'), 0x02, ...limits];
  const newImports = new Uint8Array([...u32(imports + 1), ...importBody.subarray(entriesAt), ...entry]);

  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const [i, section] of sections.entries()) {
    if (i === memoryIndex) continue;
    const body = i === importIndex ? newImports : section.body;
    parts.push(new Uint8Array([section.id, ...u32(body.length)]), body);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return { bytes: out, memory: { initialPages, maximumPages } };
}
