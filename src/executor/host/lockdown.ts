// Layer 2 inside a sandbox host process: what a JavaScript-level escapee — a guest that reached a
// worker's globalThis, or (worse) the host's main thread — could still use to leave the process's
// permission model, reach other threads, or steer the engine, is removed from the realm once the
// trusted set-up is done and before any guest byte runs. Node offers no flag that removes built-in
// modules, so the doors are the realm's own: `process` functions that load bindings or built-ins,
// signal processes, start debuggers or change the process's identity, and the globals that open
// network channels. Code compiled before the lockdown keeps what it imported (the worker still has
// `vm` for its own set-up); a value-only escapee cannot name a module without these functions,
// because code generation from strings is disallowed in the process. docs/security.md
// ("Layer 2 when layer 1 has fallen") lists what remains and why.

/** `process` members removed: each one hands out a module, a binding, a signal or a debugger. */
export const REMOVED_PROCESS_MEMBERS = [
  // Any built-in module: vm (compiles code despite --disallow-code-generation-from-strings),
  // v8 (setFlagsFromString), inspector, worker_threads, child_process, fs, net...
  'getBuiltinModule',
  // Raw bindings (refused by the permission model, and Pyodide's shim is not needed after start).
  'binding',
  '_linkedBinding',
  // Native addons (refused by the permission model without --allow-addons).
  'dlopen',
  // Signals: the host, its other workers' process, anything in the PID namespace.
  'kill',
  '_kill',
  // Starts the inspector of a process by pid (SIGUSR1), or stops the profiler hooks.
  '_debugProcess',
  '_debugEnd',
  '_startProfilerIdleNotifier',
  '_stopProfilerIdleNotifier',
  // Ends the whole process (every tenant's call) from any thread.
  'abort',
  // Reads files into the environment; replaces the process image (Node ≥ 23).
  'loadEnvFile',
  'execve',
  // Identity and working directory changes (main thread only; refused in a user namespace anyway).
  'chdir',
  'umask',
  'initgroups',
  'setgroups',
  'setegid',
  'seteuid',
  'setgid',
  'setuid',
  // Hooks that would let an escapee see the host's own exceptions or take over stdin.
  'setUncaughtExceptionCaptureCallback',
  'openStdin',
  'setSourceMapsEnabled',
] as const;

/** Globals removed: network channels, and the channel between same-origin threads. */
export const REMOVED_GLOBALS = [
  'fetch',
  'WebSocket',
  'EventSource',
  'XMLHttpRequest',
  'BroadcastChannel',
  'require',
  'module',
  'exports',
  '__filename',
  '__dirname',
] as const;

function remove(target: object, name: string): void {
  const record = target as Record<string, unknown>;
  try {
    if (delete record[name] && !(name in target)) return;
  } catch {
    // Non-configurable: overwrite below.
  }
  try {
    Object.defineProperty(target, name, { value: undefined, writable: false, configurable: false });
  } catch {
    // Neither deletable nor redefinable: left as it is (lockdownReport says so).
  }
}

/**
 * Removes the doors listed above from this thread's realm. Idempotent; call after trusted set-up
 * (it may need `vm`, `process.binding` shims...) and before any guest code runs.
 */
export function lockDownRealm(): void {
  for (const name of REMOVED_PROCESS_MEMBERS) remove(process, name);
  for (const name of REMOVED_GLOBALS) remove(globalThis, name);
  // `process.report.writeReport` writes files and lists the host's environment and handles.
  remove(process, 'report');
}

/** The listed doors still reachable in this realm (empty once lockDownRealm has run). */
export function lockdownReport(): string[] {
  const open: string[] = [];
  for (const name of REMOVED_PROCESS_MEMBERS)
    if ((process as unknown as Record<string, unknown>)[name] !== undefined) open.push(`process.${name}`);
  for (const name of REMOVED_GLOBALS)
    if ((globalThis as Record<string, unknown>)[name] !== undefined) open.push(name);
  return open;
}
