// Processes as Linux's /proc shows them, for the tools that watch a server and what it spawned
// (the soak's memory samples, the security harness's leak counts).

import { readdirSync, readFileSync } from 'node:fs';

/** Every process below `pid` (children, their children...), read from /proc; not `pid` itself. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone
    }
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  for (let i = -1; i < out.length; i++) out.push(...(children.get(i < 0 ? pid : out[i]!) ?? []));
  return out;
}
