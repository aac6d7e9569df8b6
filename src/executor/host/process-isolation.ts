// How a sandbox host process is started: a plain `node` child with an empty environment, an empty
// working directory, Node's permission model (read access only to the files the engine needs, no
// child processes, no writes, no addons, no WASI), code generation from strings disallowed, and —
// where the OS allows it — fresh user, network and PID namespaces via `unshare`, so the process
// has no network interface and cannot signal any process outside its own namespace. What is
// actually in force is returned as facts for readiness details; the operator decides with
// `required | auto | off` whether a missing namespace stops the service or only warns.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export type IsolationMode = 'required' | 'auto' | 'off';

export const ISOLATION_MODES: readonly IsolationMode[] = ['required', 'auto', 'off'];

/** Parses the operator's setting; undefined means the default (auto). */
export function parseIsolationMode(value: string | undefined): IsolationMode {
  if (value === undefined || value === '') return 'auto';
  const mode = value.trim().toLowerCase();
  if ((ISOLATION_MODES as readonly string[]).includes(mode)) return mode as IsolationMode;
  throw new Error(`Invalid isolation mode "${value}": expected one of ${ISOLATION_MODES.join(', ')}`);
}

export interface IsolationFacts {
  readonly mode: IsolationMode;
  /** 'namespace' when the process runs in a fresh network namespace (no interfaces at all). */
  readonly network: 'namespace' | 'host';
  /** The process runs in its own PID namespace (it cannot name, hence signal, outside processes). */
  readonly pidNamespace: boolean;
  readonly permissionModel: boolean;
  readonly codeGenerationFromStrings: false;
  readonly emptyEnvironment: true;
  /** Why the namespace is missing, when it is. */
  readonly warning?: string;
}

export interface SandboxSpawnOptions {
  /** The compiled entry module of the host process. */
  readonly entry: string;
  /** Files and folders (ending with '/') the process may read; the entry is always readable. */
  readonly readPaths: readonly string[];
  /** Folders (ending with '/') the process may write; empty for a sandbox host. */
  readonly writePaths?: readonly string[];
  /** The host runs its interpreters in worker threads. */
  readonly allowWorkers: boolean;
  readonly mode: IsolationMode;
  /** Extra V8/Node flags (e.g. --stack-size). */
  readonly nodeFlags?: readonly string[];
}

export interface SandboxSpawnPlan {
  readonly command: string;
  readonly args: readonly string[];
  /** An empty folder created for this process; remove it with disposeWorkDir when done. */
  readonly cwd: string;
  readonly facts: IsolationFacts;
}

function findExecutable(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/bin', '/bin', '/usr/sbin', '/sbin']);
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

const UNSHARE_FLAGS = ['--map-root-user', '--net', '--pid', '--fork', '--kill-child=SIGKILL'] as const;

let namespaceProbe: { unshare: string } | { error: string } | undefined;

/** Checks once whether `unshare` can create the namespaces here (containers often refuse). */
export function probeNamespaces(): { unshare: string } | { error: string } {
  if (namespaceProbe !== undefined) return namespaceProbe;
  const unshare = findExecutable('unshare');
  if (unshare === undefined) {
    namespaceProbe = { error: 'unshare (util-linux) is not installed' };
    return namespaceProbe;
  }
  const probe = spawnSync(unshare, [...UNSHARE_FLAGS, '--', process.execPath, '-e', '0'], {
    env: {},
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 10_000,
  });
  namespaceProbe =
    probe.status === 0
      ? { unshare }
      : {
          error: `unshare refused the namespaces: ${(probe.stderr?.toString() ?? '').trim() || `exit ${probe.status}`}`,
        };
  return namespaceProbe;
}

/** The flag that turns the permission model on: --permission (Node ≥ 22) or its experimental name. */
export function permissionFlag(): string {
  return process.allowedNodeEnvironmentFlags.has('--permission')
    ? '--permission'
    : '--experimental-permission';
}

/** Node's syntax for a folder grant: "dir/*" works on Node 20 through 24. */
function grant(path: string): string {
  return path.endsWith('/') ? `${path}*` : path;
}

/**
 * Plans the command line of a sandboxed process.
 * @throws Error when the mode is `required` and namespaces are not available
 */
export function planSandboxSpawn(options: SandboxSpawnOptions): SandboxSpawnPlan {
  const nodeArgs = [
    permissionFlag(),
    ...options.readPaths.map((p) => `--allow-fs-read=${grant(p)}`),
    ...(options.writePaths ?? []).map((p) => `--allow-fs-write=${grant(p)}`),
    ...(options.allowWorkers ? ['--allow-worker'] : []),
    '--disallow-code-generation-from-strings',
    '--no-warnings',
    ...(options.nodeFlags ?? []),
    options.entry,
  ];
  let command = process.execPath;
  let args: string[] = nodeArgs;
  let network: IsolationFacts['network'] = 'host';
  let warning: string | undefined;
  if (options.mode !== 'off') {
    const probe = probeNamespaces();
    if ('unshare' in probe) {
      command = probe.unshare;
      args = [...UNSHARE_FLAGS, '--', process.execPath, ...nodeArgs];
      network = 'namespace';
    } else if (options.mode === 'required') {
      throw new Error(`Cannot start a sandbox host: network isolation is required but ${probe.error}`);
    } else {
      warning = `No network namespace: ${probe.error}; the sandbox host shares the host's network`;
    }
  } else {
    warning = 'Network isolation is off by operator setting; the sandbox host shares the host network';
  }
  const cwd = mkdtempSync(join(tmpdir(), 'polyeval-sandbox-'));
  return {
    command,
    args,
    cwd,
    facts: {
      mode: options.mode,
      network,
      pidNamespace: network === 'namespace',
      permissionModel: true,
      codeGenerationFromStrings: false,
      emptyEnvironment: true,
      ...(warning === undefined ? {} : { warning }),
    },
  };
}

export function disposeWorkDir(cwd: string): void {
  rmSync(cwd, { recursive: true, force: true });
}
