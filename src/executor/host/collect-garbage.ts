// A full garbage collection on demand, without --expose-gc: a thread that has just prepared an
// engine (read files, compiled, restored a snapshot) holds that start-up garbage for as long as it
// then waits, because an idle V8 isolate does not collect. Workers and sandbox hosts call this once,
// when set-up is done and before they report ready; with several engines warm, that garbage was
// a large part of the service's idle memory (`npm run bench`, whole-tree idle RSS).
// vm.measureMemory with eager execution starts a full collection at once (its documented
// behaviour); its answer is not needed. Node marks it experimental and prints a warning once per
// thread: the sandbox hosts run with --no-warnings, and worker stderr is not the service's.

import * as vm from 'node:vm';

/** Collects this thread's garbage (a full mark-compact); resolves once done, never rejects. */
export async function collectGarbage(): Promise<void> {
  const measure = (vm as { measureMemory?: typeof vm.measureMemory }).measureMemory;
  if (typeof measure !== 'function') return;
  try {
    await measure({ mode: 'summary', execution: 'eager' });
  } catch {
    // Not available here: the garbage waits for the next collection.
  }
}
