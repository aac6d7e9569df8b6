// A bounded LRU of compiled modules, keyed by content hash, plus an index from the text of `code`
// (hashed) to that content hash so that a call repeating the same code skips decoding and .wat
// compilation. Bounded by entry count and by an approximate byte size (the instrumented module's
// size times a factor for V8's compiled code).

import { createHash } from 'node:crypto';
import type { CompiledModule } from './protocol.js';

export interface CacheOptions {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

/** V8's machine code is a few times the size of the bytecode it comes from. */
const COMPILED_SIZE_FACTOR = 4;

export function hashCode(code: string): string {
  return createHash('sha256').update(code).digest('hex');
}

export class ModuleCache {
  private readonly entries = new Map<string, CompiledModule>();
  private readonly byCode = new Map<string, string>();
  private bytes = 0;
  readonly counters = { hits: 0, misses: 0, evictions: 0 };

  constructor(private readonly options: CacheOptions) {}

  get size(): number {
    return this.entries.size;
  }

  get approximateBytes(): number {
    return this.bytes;
  }

  /** Looks a module up by id and marks it recently used. */
  get(id: string): CompiledModule | undefined {
    const entry = this.entries.get(id);
    if (entry !== undefined) {
      this.entries.delete(id);
      this.entries.set(id, entry);
    }
    return entry;
  }

  /** Looks a module up by the hash of the `code` it was compiled from. */
  getByCode(codeHash: string): CompiledModule | undefined {
    const id = this.byCode.get(codeHash);
    const entry = id === undefined ? undefined : this.get(id);
    if (entry === undefined) {
      this.counters.misses++;
      if (id !== undefined) this.byCode.delete(codeHash);
    } else {
      this.counters.hits++;
      this.byCode.delete(codeHash);
      this.byCode.set(codeHash, id!);
    }
    return entry;
  }

  set(entry: CompiledModule, codeHash?: string): void {
    const id = entry.summary.id;
    const old = this.entries.get(id);
    if (old !== undefined) {
      this.bytes -= weight(old);
      this.entries.delete(id);
    }
    this.entries.set(id, entry);
    this.bytes += weight(entry);
    if (codeHash !== undefined) {
      this.byCode.delete(codeHash);
      this.byCode.set(codeHash, id);
    }
    this.evict();
  }

  private evict(): void {
    while (
      this.entries.size > 1 &&
      (this.entries.size > this.options.maxEntries || this.bytes > this.options.maxBytes)
    ) {
      const [oldest, entry] = this.entries.entries().next().value as [string, CompiledModule];
      this.entries.delete(oldest);
      this.bytes -= weight(entry);
      this.counters.evictions++;
    }
    // The code index only points into the cache; keep it about as long as the cache.
    while (this.byCode.size > this.options.maxEntries * 2) {
      const oldest = this.byCode.keys().next().value as string;
      this.byCode.delete(oldest);
    }
  }
}

function weight(entry: CompiledModule): number {
  return entry.summary.sizes.instrumented * COMPILED_SIZE_FACTOR;
}
