// Processes as Linux's /proc shows them, for the tools that watch a server and what it spawned
// (the soak's memory samples, the security harness's leak counts). The service's /metrics reads
// the same tree: one implementation, in src/process-tree.ts.

export { descendants, processTree } from '../../src/process-tree.js';
