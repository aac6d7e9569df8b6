// CPU time of the calling thread, for per-call CPU figures. process.cpuUsage() counts the whole
// process (every worker), so it is only the last resort.
//
// On Node 20 (no process.threadCpuUsage) the figure comes from /proc/thread-self/schedstat. The file
// is opened once per thread and re-read in place (pread at offset 0 makes procfs regenerate it):
// ~2 µs per reading, where readFileSync's open/read/close took ~12 µs, twice on every call.

import { closeSync, openSync, readSync } from 'node:fs';

type ThreadCpuUsage = () => { user: number; system: number };
const threadCpuUsage = (process as unknown as { threadCpuUsage?: ThreadCpuUsage }).threadCpuUsage;

/** This thread's schedstat descriptor: undefined until first use, null when it cannot be read. */
let schedstat: number | null | undefined = process.platform === 'linux' ? undefined : null;
const buffer = Buffer.alloc(96);

function readSchedstat(): number | undefined {
  try {
    schedstat ??= openSync('/proc/thread-self/schedstat', 'r');
    const n = readSync(schedstat, buffer, 0, buffer.length, 0);
    const text = buffer.toString('latin1', 0, n);
    // First field: nanoseconds this thread has spent on a CPU.
    const ns = Number(text.slice(0, text.indexOf(' ')));
    if (Number.isFinite(ns)) return ns / 1e6;
  } catch {
    // Not readable here (no procfs, or a permission model that forbids it).
  }
  if (typeof schedstat === 'number') {
    try {
      closeSync(schedstat);
    } catch {
      // Already unusable.
    }
  }
  schedstat = null;
  return undefined;
}

/** CPU time consumed by this thread so far, in milliseconds (fractional). */
export function threadCpuMs(): number {
  // Linux accounts a running thread's CPU time only at ticks and context switches: a call shorter
  // than a tick read 0 ms. getrusage(RUSAGE_SELF) (process.cpuUsage) makes the kernel account the
  // calling thread's pending time first (thread_group_cputime → task_sched_runtime), so the
  // readings below are exact to the nanosecond (~1 µs per reading).
  process.cpuUsage();
  if (threadCpuUsage !== undefined) {
    const { user, system } = threadCpuUsage.call(process);
    return (user + system) / 1000;
  }
  if (schedstat !== null) {
    const ms = readSchedstat();
    if (ms !== undefined) return ms;
  }
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
