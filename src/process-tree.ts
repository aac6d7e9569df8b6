// The processes of this service as Linux's /proc shows them: this process and everything it
// spawned (the Python sandbox hosts, their children), each with its resident memory and CPU time,
// for /metrics (src/metrics.ts) and for the tools that watch a server (the soak, the security
// harness: scripts/lib/proc.ts). Elsewhere than Linux there is no /proc: the tree is empty.

import { readdirSync, readFileSync } from 'node:fs';

/** One process of the tree. */
export interface ProcessSample {
  readonly pid: number;
  /** Resident memory (VmRSS), in bytes. */
  readonly rssBytes: number;
  /** User + system CPU time so far, in seconds. */
  readonly cpuSeconds: number;
  /** The language folder its program comes from (interpreters/<id>/…), when it is one. */
  readonly language: string | undefined;
}

/**
 * Clock ticks per second of /proc/<pid>/stat times. USER_HZ is 100 on every architecture Linux
 * runs Node on; Node does not expose sysconf(_SC_CLK_TCK), and a child process to ask would cost
 * more than the figure is worth.
 */
const CLOCK_TICKS = 100;

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // gone, or no /proc
  }
}

/** Every process below `pid` (children, their children...), read from /proc; not `pid` itself. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (fields === undefined) continue;
    const ppid = Number(fields[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  for (let i = -1; i < out.length; i++) out.push(...(children.get(i < 0 ? pid : out[i]!) ?? []));
  return out;
}

function sample(pid: number): ProcessSample | undefined {
  const fields = statFields(pid);
  if (fields === undefined) return undefined;
  let rssBytes = 0;
  let language: string | undefined;
  try {
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    rssBytes = rss === null ? 0 : Number(rss[1]) * 1024;
    // The program a child runs (its arguments are NUL-separated) tells whose it is.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    language = /[/\\]interpreters[/\\]([a-z][a-z0-9-]*)[/\\]/.exec(cmdline)?.[1];
  } catch {
    return undefined; // exited while being read
  }
  // utime and stime are fields 14 and 15 of stat; the slice starts at field 3.
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  return { pid, rssBytes, cpuSeconds, language };
}

/** `root` (this process by default) and every process below it, each sampled now. */
export function processTree(root: number = process.pid): ProcessSample[] {
  const out: ProcessSample[] = [];
  for (const pid of [root, ...descendants(root)]) {
    const s = sample(pid);
    if (s !== undefined) out.push(s);
  }
  return out;
}
