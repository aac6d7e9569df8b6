// What /proc says about the server under attack: its threads, file descriptors and child processes,
// counted (the security harness compares them with a baseline after every attack) and described
// (named in the failure message when they do not come back).

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { descendants } from '../../scripts/lib/proc.js';

export interface Counts {
  readonly threads: number;
  /** Open descriptors, less the live threads' own CPU-clock descriptors (see below). */
  readonly fds: number;
  readonly children: number;
}

/**
 * Every thread that measures its CPU time keeps /proc/thread-self/schedstat open for its lifetime
 * (src/executor/host/thread-cpu.ts), opened on its first measured call: which pool worker got a call
 * before the baseline is the scheduler's choice, so counting them made the comparison flaky. One
 * such descriptor per live thread is left out (the link names its thread); a second one for the same
 * thread, or one of a thread that is gone, counts as a leak like any other descriptor, and the
 * thread count is compared on its own.
 */
function countedDescriptors(pid: number, threads: ReadonlySet<string>): number {
  const clocks = new Set<string>();
  let counted = 0;
  for (const link of links(pid)) {
    const match = /^\/proc\/(\d+)\/task\/(\d+)\/schedstat$/.exec(link);
    const tid = match?.[2];
    if (match?.[1] === String(pid) && tid !== undefined && threads.has(tid) && !clocks.has(tid)) {
      clocks.add(tid);
      continue;
    }
    counted++;
  }
  return counted;
}

function links(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '?'; // closed between the listing and the read
    }
  });
}

export function counts(pid: number): Counts {
  const threads = new Set(readdirSync(`/proc/${pid}/task`));
  return {
    threads: threads.size,
    fds: countedDescriptors(pid, threads),
    children: descendants(pid).length,
  };
}

/** Threads by name, descriptors by target and the children's pids, for a failure message. */
export function describeProcess(pid: number): string {
  const names = (dir: string, read: (e: string) => string): string[] => {
    try {
      return readdirSync(dir).map((e) => {
        try {
          return read(e);
        } catch {
          return '?';
        }
      });
    } catch {
      return [];
    }
  };
  const threads = names(`/proc/${pid}/task`, (t) =>
    readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim(),
  );
  const fds = names(`/proc/${pid}/fd`, (f) => readlinkSync(`/proc/${pid}/fd/${f}`).replace(/\d+/g, 'N'));
  const tally = (list: string[]): string => {
    const map = new Map<string, number>();
    for (const x of list) map.set(x, (map.get(x) ?? 0) + 1);
    return [...map].map(([k, v]) => `${k}×${v}`).join(', ');
  };
  return `threads: ${tally(threads)}; fds: ${tally(fds)}; children: ${descendants(pid).join(', ')}`;
}
