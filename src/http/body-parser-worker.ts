// The parser thread (see ./body-parser.ts): parses large request bodies so that the HTTP thread
// does not. It runs only our own parsers on bytes; no guest code ever runs here.

import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { type ParseAnswer, type ParseJob, runParseJob, toTransferText } from './body-parser.js';

// This thread yields the CPU to the HTTP thread: on Linux a thread's nice value is its own
// (setpriority on its thread id), so when both want a core, /livez and small calls come first and a
// flood of large bodies waits. Elsewhere (or when refused) it keeps the default priority.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid) && tid > 0) setPriority(tid, 10);
} catch {
  // Not Linux, or no /proc: the parser thread competes as an equal.
}

parentPort!.on('message', (job: ParseJob) => {
  let answer: ParseAnswer;
  try {
    answer = { id: job.id, ok: true, text: toTransferText(runParseJob(job)) };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    const z5 = (e as { z5?: unknown }).z5;
    answer = {
      id: job.id,
      ok: false,
      name: e.name,
      message: e.message,
      ...(z5 === undefined ? {} : { z5: z5 as NonNullable<Extract<ParseAnswer, { ok: false }>['z5']> }),
    };
  }
  try {
    parentPort!.postMessage(answer);
  } catch (error) {
    // Never leave the job unanswered (its request would hang): say why instead.
    parentPort!.postMessage({ id: job.id, ok: false, name: 'Error', message: (error as Error).message });
  }
});
