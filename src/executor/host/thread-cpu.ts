// CPU time of the calling thread, for per-call CPU figures. process.cpuUsage() counts the whole
// process (every worker), so it is only the last resort.

import { readFileSync } from 'node:fs';

type ThreadCpuUsage = () => { user: number; system: number };
const threadCpuUsage = (process as unknown as { threadCpuUsage?: ThreadCpuUsage }).threadCpuUsage;

let schedstatReadable = process.platform === 'linux';

/** CPU time consumed by this thread so far, in milliseconds (fractional). */
export function threadCpuMs(): number {
  if (threadCpuUsage !== undefined) {
    const { user, system } = threadCpuUsage.call(process);
    return (user + system) / 1000;
  }
  if (schedstatReadable) {
    try {
      // First field: nanoseconds this thread has spent on a CPU.
      const text = readFileSync('/proc/thread-self/schedstat', 'latin1');
      return Number(text.slice(0, text.indexOf(' '))) / 1e6;
    } catch {
      schedstatReadable = false;
    }
  }
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
