// How a sandbox host process is started: a plain `node` child with an empty environment, Node's
// permission model (read access only to the files the engine needs, no child processes, no writes,
// no addons, no WASI), code generation from strings disallowed — and, under that, an OS layer that
// must hold when native code owns the process and makes any syscall it likes:
//
//   mountNamespace  bubblewrap builds a root of its own: the node binary and its libraries, the
//                   files the permission model grants (read-only), an empty size-capped /tmp, the
//                   /proc of its own PID namespace, a minimal read-only /dev; nothing else.
//   network, pid    fresh network (no interfaces) and PID namespaces (no outside process is named).
//   uid             uid 65534 in a user namespace of its own, with no capabilities; when the service
//                   runs as root, uid 65534 outside too (see Launch for how).
//   noNewPrivs      PR_SET_NO_NEW_PRIVS (bubblewrap sets it before the filter; setpriv too).
//   seccomp         a libseccomp filter (Debian's python3-seccomp emits the BPF, see SECCOMP_POLICY)
//                   that denies sockets, ptrace, mounts, namespaces, keyrings, bpf, perf, io_uring,
//                   userfaultfd, module and kexec calls and the like.
//   rlimits         util-linux `prlimit`: processes, open files, file size, no core dumps; soft =
//                   hard, so that the process cannot raise them.
//
// Where the machine lacks a tool or refuses namespaces, `auto` starts with what it has (falling back
// to `unshare` for the network and PID namespaces) and says which protections are missing; `required`
// refuses to start; `off` runs with the permission model only. What is in force is returned as facts
// for readiness details, the start-up warning and the `polyeval_isolation_protection` metric.

import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

export type IsolationMode = 'required' | 'auto' | 'off';

export const ISOLATION_MODES: readonly IsolationMode[] = ['required', 'auto', 'off'];

/** Parses the operator's setting; undefined means the default (auto). */
export function parseIsolationMode(value: string | undefined): IsolationMode {
  if (value === undefined || value === '') return 'auto';
  const mode = value.trim().toLowerCase();
  if ((ISOLATION_MODES as readonly string[]).includes(mode)) return mode as IsolationMode;
  throw new Error(`Invalid isolation mode "${value}": expected one of ${ISOLATION_MODES.join(', ')}`);
}

/** The protections of the OS layer, each reported on its own. */
export const PROTECTIONS = [
  'mountNamespace',
  'seccomp',
  'noNewPrivs',
  'rlimits',
  'uid',
  'network',
  'pid',
] as const;
export type Protection = (typeof PROTECTIONS)[number];

export interface IsolationFacts {
  readonly mode: IsolationMode;
  /** Which protections of the OS layer are in force. */
  readonly protections: Readonly<Record<Protection, boolean>>;
  /** The protections that are not in force, with the reason of each. */
  readonly missing: Readonly<Partial<Record<Protection, string>>>;
  /** 'bubblewrap' (the full layer), 'unshare' (network and PID namespaces only) or 'none'. */
  readonly confinement: 'bubblewrap' | 'unshare' | 'none';
  /** 'namespace' when the process runs in a fresh network namespace (no interfaces at all). */
  readonly network: 'namespace' | 'host';
  /** The process runs in its own PID namespace (it cannot name, hence signal, outside processes). */
  readonly pidNamespace: boolean;
  /** The uid of the process inside its user namespace and outside (as the kernel sees it). */
  readonly uid?: { readonly inside: number; readonly outside: number };
  readonly rlimits?: Readonly<Record<string, number>>;
  /** 'own': the /proc of its PID namespace; 'none': the runtime refused a fresh procfs (masked /proc). */
  readonly proc?: 'own' | 'none';
  readonly permissionModel: boolean;
  readonly codeGenerationFromStrings: false;
  readonly emptyEnvironment: true;
  /** One sentence naming what is missing, when something is. */
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
  /** The operator's setting that chose the mode, named in messages (e.g. POLYEVAL_<ID>_ISOLATION). */
  readonly setting?: string;
  /** Extra V8/Node flags (e.g. --stack-size). */
  readonly nodeFlags?: readonly string[];
}

export interface SandboxSpawnPlan {
  readonly command: string;
  readonly args: readonly string[];
  /** An empty folder created for this process; remove it with disposeWorkDir when done. */
  readonly cwd: string;
  readonly facts: IsolationFacts;
  /** The seccomp filter, handed to bubblewrap as an inherited file descriptor (spawnSandbox). */
  readonly seccompFile?: string;
  /** The uid and gid to start the command as (set when the service runs as root). */
  readonly runAs?: { readonly uid: number; readonly gid: number };
}

/** The uid (and gid) the sandbox runs as: `nobody`. */
export const SANDBOX_UID = 65534;

/**
 * Resource limits of the sandbox process (soft = hard). Processes: the host's threads (worker
 * threads, V8 and libuv pools) count, and so do all tasks of the same uid; files: workers hold a
 * few descriptors each; file size: the host writes no file at all, a snapshot builder writes one
 * snapshot (~20 MB); no core dumps.
 */
export const SANDBOX_RLIMITS = {
  nproc: 1024,
  nofile: 4096,
  fsize: 256 * 2 ** 20,
  core: 0,
} as const;

/** The size of the private /tmp (the host writes nothing there; this caps what native code can). */
export const SANDBOX_TMP_BYTES = 16 * 2 ** 20;

/**
 * What the seccomp filter denies. Everything else is allowed: V8 and libuv need memory mapping,
 * threads (clone without namespace flags), futexes, epoll/eventfd, signals within the process,
 * file reads. `execve` stays allowed because bubblewrap installs the filter before it executes
 * node (a filter cannot tell that first exec from a later one); the mount namespace holds no other
 * executable and the filter, namespaces, rlimits and uid survive any exec (see docs/security.md).
 * The IPC channel to the service is the inherited fd 3, so the host never opens a socket.
 */
export const SECCOMP_POLICY = {
  /** Denied with EPERM. */
  eperm: [
    // Sockets of any family: the only channel is the inherited IPC fd.
    'socket',
    'socketpair',
    // Other processes' memory and state.
    'ptrace',
    'process_vm_readv',
    'process_vm_writev',
    'kcmp',
    'pidfd_getfd',
    // The mount table and namespaces.
    'mount',
    'umount2',
    'pivot_root',
    'chroot',
    'open_tree',
    'move_mount',
    'fsopen',
    'fsconfig',
    'fsmount',
    'fspick',
    'mount_setattr',
    'unshare',
    'setns',
    // Kernel surfaces a sandbox never needs and exploits like.
    'keyctl',
    'add_key',
    'request_key',
    'bpf',
    'perf_event_open',
    'userfaultfd',
    'kexec_load',
    'kexec_file_load',
    'init_module',
    'finit_module',
    'delete_module',
    'reboot',
    'swapon',
    'swapoff',
    'acct',
    'quotactl',
    'syslog',
    'open_by_handle_at',
    'name_to_handle_at',
    'lookup_dcookie',
    'fanotify_init',
    'settimeofday',
    'clock_settime',
    'clock_adjtime',
    'adjtimex',
    'sethostname',
    'setdomainname',
    'iopl',
    'ioperm',
    'vhangup',
    'personality',
    'execveat',
    'memfd_create',
    'mknod',
    'mknodat',
  ],
  /** Denied with ENOSYS, so that libuv and glibc fall back to what they did before these existed. */
  enosys: ['io_uring_setup', 'io_uring_enter', 'io_uring_register', 'clone3'],
  /** clone() with any of these flags (new namespaces) is denied with EPERM; threads do not use them. */
  cloneFlags: {
    CLONE_NEWNS: 0x00020000,
    CLONE_NEWCGROUP: 0x02000000,
    CLONE_NEWUTS: 0x04000000,
    CLONE_NEWIPC: 0x08000000,
    CLONE_NEWUSER: 0x10000000,
    CLONE_NEWPID: 0x20000000,
    CLONE_NEWNET: 0x40000000,
    CLONE_NEWTIME: 0x00000080,
  },
  /** ioctl(fd, TIOCSTI): pushing input into a terminal. */
  ioctlRequests: { TIOCSTI: 0x5412, TIOCLINUX: 0x541c },
} as const;

/**
 * The filter is compiled by libseccomp (python3-seccomp, Debian) rather than written as BPF here:
 * libseccomp handles the architecture check, the x32 ABI on x86-64 and syscall numbering. The
 * script reads the policy as JSON and writes the BPF program to stdout.
 */
const SECCOMP_COMPILER = `
import errno, json, sys
import seccomp
policy = json.loads(sys.argv[1])
f = seccomp.SyscallFilter(seccomp.ALLOW)
try:
    f.set_attr(seccomp.Attr.CTL_OPTIMIZE, 2)  # a binary tree: fewer comparisons per syscall
except Exception:
    pass  # libseccomp < 2.5: the plain list
for name in policy["eperm"]:
    try:
        f.add_rule(seccomp.ERRNO(errno.EPERM), name)
    except Exception:
        pass  # not a syscall on this architecture or libseccomp version
for name in policy["enosys"]:
    try:
        f.add_rule(seccomp.ERRNO(errno.ENOSYS), name)
    except Exception:
        pass
for flag in policy["cloneFlags"].values():
    f.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
for request in policy["ioctlRequests"].values():
    f.add_rule(seccomp.ERRNO(errno.EPERM), "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, request))
f.export_bpf(sys.stdout)
`;

/** Looks a tool up on PATH (the system folders when PATH is unset): PATH decides, so an operator can hide one. */
function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  const dirs = path === '' ? ['/usr/bin', '/bin', '/usr/sbin', '/sbin'] : path.split(delimiter);
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

const UNSHARE_FLAGS = ['--map-root-user', '--net', '--pid', '--fork', '--kill-child=SIGKILL'] as const;

/**
 * How bubblewrap is started:
 *   userns      as the service's uid (not root): a user namespace, uid 65534 inside, no capabilities.
 *   nobody      the service is root and uid 65534 can reach every file: the same, started as 65534.
 *   privileged  the service is root and uid 65534 cannot traverse the folders above the project
 *               (a private home or clone folder): bubblewrap runs as root, binds what root can
 *               reach, and `setpriv` (util-linux) drops to uid 65534 with no capabilities and no
 *               bounding set before node starts, under the filter already in force.
 */
type Launch = 'userns' | 'nobody' | 'privileged';

interface Tools {
  readonly bwrap?: string;
  readonly prlimit?: string;
  readonly unshare?: string;
  readonly setpriv?: string;
  /** The compiled seccomp filter, or why there is none. */
  readonly seccomp: { bpf: Buffer } | { error: string };
  /** The launches that built a sandbox here. */
  readonly launches: ReadonlySet<Launch>;
  /** Why bubblewrap cannot be used, when it cannot. */
  readonly bwrapError?: string;
  readonly unshareError?: string;
  readonly prlimitError?: string;
  /** Why the sandbox gets no /proc of its own (it then has none), when it does not. */
  readonly procError?: string;
}

let toolsProbe: Tools | undefined;

/** Forgets what was probed (tests that change PATH). */
export function resetIsolationProbe(): void {
  toolsProbe = undefined;
}

/** Compiles the seccomp filter with libseccomp's Python binding (Debian: python3-seccomp). */
function compileSeccomp(): { bpf: Buffer } | { error: string } {
  // The system Python first: version managers (pyenv...) put a Python without Debian's modules
  // earlier on PATH.
  const candidates = ['/usr/bin/python3', findExecutable('python3')].filter(
    (p): p is string => p !== undefined && existsSync(p),
  );
  if (candidates.length === 0) return { error: 'python3 with python3-seccomp (libseccomp) is not installed' };
  let last = '';
  for (const python of [...new Set(candidates)]) {
    const result = spawnSync(python, ['-c', SECCOMP_COMPILER, JSON.stringify(SECCOMP_POLICY)], {
      env: {},
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20_000,
    });
    if (result.status === 0 && result.stdout.length > 0 && result.stdout.length % 8 === 0)
      return { bpf: result.stdout };
    last = (result.stderr?.toString() ?? '').trim().split('\n').slice(-1)[0] ?? `exit ${result.status}`;
  }
  return { error: `cannot compile the seccomp filter with libseccomp (install python3-seccomp): ${last}` };
}

/** The shared libraries a binary loads (ldd), or the system library folders when ldd cannot tell. */
const librariesCache = new Map<string, string[]>();
function libraries(binary: string): string[] {
  const cached = librariesCache.get(binary);
  if (cached !== undefined) return cached;
  const found = new Set<string>();
  const ldd = spawnSync('ldd', [binary], { env: {}, encoding: 'utf8', timeout: 10_000 });
  if (ldd.status === 0) {
    for (const line of ldd.stdout.split('\n')) {
      const match = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
      if (match?.[1] !== undefined) found.add(match[1]);
    }
    // With the loader's cache, libraries outside the default folders are found as outside.
    if (existsSync('/etc/ld.so.cache')) found.add('/etc/ld.so.cache');
  } else {
    // Unknown (static, musl...): the system library folders (read-only), never the binaries.
    for (const p of ['/lib', '/lib64', '/usr/lib', '/usr/lib64']) if (existsSync(p)) found.add(p);
  }
  librariesCache.set(binary, [...found]);
  return [...found];
}

/** Every folder above the path is open to others, and the path is readable by them (uid 65534). */
function reachableByOthers(path: string): boolean {
  try {
    let dir = dirname(path);
    while (true) {
      if ((statSync(dir).mode & 0o001) === 0) return false;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
    const stat = statSync(path);
    return stat.isDirectory() ? (stat.mode & 0o005) === 0o005 : (stat.mode & 0o004) !== 0;
  } catch {
    return false;
  }
}

const serviceIsRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** The setpriv command that drops to uid 65534 inside a privileged sandbox. */
function dropPrivileges(setpriv: string): string[] {
  return [
    setpriv,
    `--reuid=${SANDBOX_UID}`,
    `--regid=${SANDBOX_UID}`,
    '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--no-new-privs',
    '--',
  ];
}

/** The bubblewrap arguments of the sandbox's root (without the command). */
function bwrapArgs(
  launch: Launch,
  binds: readonly string[],
  writable: readonly string[],
  seccompFd: number | undefined,
  proc: boolean,
): string[] {
  const args = [
    ...(launch === 'privileged'
      ? []
      : ['--unshare-user', '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_UID)]),
    '--unshare-ipc',
    '--unshare-pid',
    '--unshare-net',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--hostname',
    'sandbox',
    '--die-with-parent',
    '--new-session',
    // Node is the namespace's PID 1 and bubblewrap's direct child: the service measures and kills
    // that tree. Node's workers are threads, so no zombie needs reaping.
    '--as-pid-1',
    // Privileged: setpriv needs CAP_SETUID/SETGID/SETPCAP to drop to 65534, which clears them all.
    ...(launch === 'privileged' ? [] : ['--cap-drop', 'ALL']),
    ...(proc ? ['--proc', '/proc'] : []),
    '--dev',
    '/dev',
    // Writable by the sandbox's uid whoever mounts it (root, when privileged).
    '--perms',
    '1777',
    '--size',
    String(SANDBOX_TMP_BYTES),
    '--tmpfs',
    '/tmp',
  ];
  const seen = new Set<string>();
  const folders = new Set<string>();
  for (const path of binds) {
    const clean = path.endsWith('/') && path !== '/' ? path.slice(0, -1) : path;
    if (seen.has(clean) || clean.startsWith('/proc/') || !existsSync(clean)) continue;
    seen.add(clean);
    // The folders above a bind are made here, open to all (bubblewrap makes them 0700 as root).
    for (let dir = dirname(clean); dir !== '/' && !folders.has(dir); dir = dirname(dir)) {
      folders.add(dir);
    }
    args.push(writable.includes(path) ? '--bind' : '--ro-bind', clean, clean);
  }
  const parents = [...folders]
    .filter((dir) => !seen.has(dir) && dir !== '/tmp' && dir !== '/dev' && dir !== '/proc')
    .sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b))
    .flatMap((dir) => ['--perms', '0755', '--dir', dir]);
  // Before the binds: a bind's own folder may sit inside another bind (dist/ inside the project).
  const firstBind = args.findIndex((a) => a === '--bind' || a === '--ro-bind');
  if (firstBind >= 0) args.splice(firstBind, 0, ...parents);
  args.push('--remount-ro', '/dev', '--remount-ro', '/', '--chdir', '/tmp');
  if (seccompFd !== undefined) args.push('--seccomp', String(seccompFd));
  return args;
}

/** The file descriptor the seccomp filter is handed to bubblewrap on (after stdin..ipc). */
const SECCOMP_FD = 4;

function rlimitArgs(): string[] {
  return [
    `--nproc=${SANDBOX_RLIMITS.nproc}`,
    `--nofile=${SANDBOX_RLIMITS.nofile}`,
    `--fsize=${SANDBOX_RLIMITS.fsize}`,
    `--core=${SANDBOX_RLIMITS.core}`,
    '--',
  ];
}

/** What runs inside bubblewrap before node's own arguments. */
function innerCommand(launch: Launch, setpriv: string | undefined): string[] {
  return launch === 'privileged' && setpriv !== undefined
    ? [...dropPrivileges(setpriv), process.execPath]
    : [process.execPath];
}

/** Checks once which tools exist and whether they work here (containers often refuse namespaces). */
function probeTools(): Tools {
  if (toolsProbe !== undefined) return toolsProbe;
  const bwrap = findExecutable('bwrap');
  const prlimit = findExecutable('prlimit');
  const unshare = findExecutable('unshare');
  const setpriv = findExecutable('setpriv');
  const seccomp = compileSeccomp();
  const launches = new Set<Launch>();
  let bwrapError: string | undefined;
  let unshareError: string | undefined;
  let prlimitError: string | undefined;
  let procError: string | undefined;
  const work = mkdtempSync(join(tmpdir(), 'polyeval-probe-'));
  try {
    if (prlimit === undefined) prlimitError = 'prlimit (util-linux) is not installed';
    if (bwrap === undefined) {
      bwrapError = 'bubblewrap (bwrap) is not installed';
    } else {
      // The real layout with node alone: namespaces, the filter, node starting under it.
      const file = join(work, 'seccomp.bpf');
      const hasFilter = 'bpf' in seccomp;
      if (hasFilter) writeFileSync(file, seccomp.bpf);
      const run = (launch: Launch, withProc: boolean) => {
        const binds = [
          process.execPath,
          ...libraries(process.execPath),
          ...(launch === 'privileged' && setpriv !== undefined ? [setpriv, ...libraries(setpriv)] : []),
        ];
        // A descriptor per run: bubblewrap reads the filter to its end.
        const fd = hasFilter ? openSync(file, 'r') : undefined;
        try {
          return spawnSync(
            bwrap,
            [
              ...bwrapArgs(launch, binds, [], fd === undefined ? undefined : SECCOMP_FD, withProc),
              '--',
              ...innerCommand(launch, setpriv),
              '-e',
              '0',
            ],
            {
              env: {},
              stdio: ['ignore', 'ignore', 'pipe', 'ignore', ...(fd === undefined ? [] : [fd])],
              timeout: 20_000,
              cwd: '/',
              ...(launch === 'nobody' ? { uid: SANDBOX_UID, gid: SANDBOX_UID } : {}),
            },
          );
        } finally {
          if (fd !== undefined) closeSync(fd);
        }
      };
      const candidates: Launch[] = serviceIsRoot()
        ? [
            ...(reachableByOthers(process.execPath) ? (['nobody'] as const) : []),
            ...(setpriv === undefined ? [] : (['privileged'] as const)),
          ]
        : ['userns'];
      let lastError = serviceIsRoot()
        ? 'as root, neither uid 65534 nor setpriv (util-linux) can be used'
        : '';
      for (const launch of candidates) {
        let probe = run(launch, true);
        if (probe.status !== 0) {
          // Container runtimes mask parts of /proc, and the kernel then refuses a fresh procfs to
          // an unprivileged namespace: the sandbox does without /proc (it reads only its own CPU
          // time there, and falls back to process.threadCpuUsage or none).
          const withoutProc = run(launch, false);
          if (withoutProc.status === 0) {
            procError = (probe.stderr?.toString() ?? '').trim() || `exit ${probe.status}`;
            probe = withoutProc;
          }
        }
        if (probe.status === 0) launches.add(launch);
        else lastError = (probe.stderr?.toString() ?? '').trim() || `exit ${probe.status}`;
      }
      if (launches.size === 0) bwrapError = `bubblewrap cannot build the sandbox here: ${lastError}`;
    }
    if (unshare === undefined) {
      unshareError = 'unshare (util-linux) is not installed';
    } else if (bwrapError !== undefined) {
      const probe = spawnSync(unshare, [...UNSHARE_FLAGS, '--', process.execPath, '-e', '0'], {
        env: {},
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 10_000,
      });
      if (probe.status !== 0)
        unshareError = `unshare refused the namespaces: ${(probe.stderr?.toString() ?? '').trim() || `exit ${probe.status}`}`;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  toolsProbe = {
    ...(bwrap === undefined ? {} : { bwrap }),
    ...(prlimit === undefined ? {} : { prlimit }),
    ...(unshare === undefined ? {} : { unshare }),
    ...(setpriv === undefined ? {} : { setpriv }),
    seccomp,
    launches,
    ...(bwrapError === undefined ? {} : { bwrapError }),
    ...(unshareError === undefined ? {} : { unshareError }),
    ...(prlimitError === undefined ? {} : { prlimitError }),
    ...(procError === undefined ? {} : { procError }),
  };
  return toolsProbe;
}

/**
 * Checks once whether namespaces can be created here: the tool that creates them, or why not.
 */
export function probeNamespaces(): { unshare: string } | { error: string } {
  const tools = probeTools();
  if (tools.bwrap !== undefined && tools.bwrapError === undefined) return { unshare: tools.bwrap };
  if (tools.unshare !== undefined && tools.unshareError === undefined) return { unshare: tools.unshare };
  return { error: tools.bwrapError ?? tools.unshareError ?? 'no namespace tool' };
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

function allProtections(value: boolean): Record<Protection, boolean> {
  return Object.fromEntries(PROTECTIONS.map((p) => [p, value])) as Record<Protection, boolean>;
}

/**
 * Plans the command line of a sandboxed process.
 * @throws Error when the mode is `required` and a protection of the OS layer is not available
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
  const base = {
    mode: options.mode,
    permissionModel: true,
    codeGenerationFromStrings: false as const,
    emptyEnvironment: true as const,
  };
  if (options.mode === 'off') {
    const missing = Object.fromEntries(PROTECTIONS.map((p) => [p, 'off by operator setting']));
    return {
      command: process.execPath,
      args: nodeArgs,
      cwd: mkdtempSync(join(tmpdir(), 'polyeval-sandbox-')),
      facts: {
        ...base,
        protections: allProtections(false),
        missing,
        confinement: 'none',
        network: 'host',
        pidNamespace: false,
        warning: `The OS isolation layer is off by operator setting (${options.setting ?? 'isolation mode'}=off): the sandbox host shares the host network, filesystem view and uid`,
      },
    };
  }

  const tools = probeTools();
  const protections = allProtections(false);
  const missing: Partial<Record<Protection, string>> = {};
  let command = process.execPath;
  let args: string[] = nodeArgs;
  let confinement: IsolationFacts['confinement'] = 'none';
  let seccompBpf: Buffer | undefined;
  let runAs: SandboxSpawnPlan['runAs'];
  let uid: IsolationFacts['uid'];

  if (tools.bwrap !== undefined && tools.bwrapError === undefined) {
    confinement = 'bubblewrap';
    const writePaths = options.writePaths ?? [];
    const files = [process.execPath, ...options.readPaths, options.entry, ...writePaths].filter(
      (p) => !p.startsWith('/proc/') && existsSync(p),
    );
    let launch: Launch = 'userns';
    if (serviceIsRoot()) {
      const unreachable = files.find((p) => !reachableByOthers(p));
      if (writePaths.length > 0) {
        // The snapshot builder writes into the service's cache folder and runs no guest code: it
        // keeps root's uid outside its user namespace.
        uid = { inside: SANDBOX_UID, outside: 0 };
        protections.uid = true;
      } else if (unreachable === undefined && tools.launches.has('nobody')) {
        launch = 'nobody';
        runAs = { uid: SANDBOX_UID, gid: SANDBOX_UID };
      } else if (tools.launches.has('privileged')) {
        launch = 'privileged';
      } else {
        uid = { inside: SANDBOX_UID, outside: 0 };
        missing.uid = `the service runs as root, uid ${SANDBOX_UID} cannot reach ${unreachable} and setpriv (util-linux) is not usable: the sandbox keeps root's uid outside its user namespace`;
      }
      if (launch !== 'userns') {
        uid = { inside: SANDBOX_UID, outside: SANDBOX_UID };
        protections.uid = true;
      }
    } else {
      const outside = typeof process.getuid === 'function' ? process.getuid() : -1;
      uid = { inside: SANDBOX_UID, outside };
      // Not root: uid 65534 in a user namespace without capabilities is the most the OS allows an
      // unprivileged service; outside it keeps the service's uid (see docs/security.md).
      protections.uid = true;
    }
    const inner = innerCommand(launch, tools.setpriv);
    const binds = [
      process.execPath,
      ...libraries(process.execPath),
      ...(inner.length > 1 && tools.setpriv !== undefined
        ? [tools.setpriv, ...libraries(tools.setpriv)]
        : []),
      ...options.readPaths,
      options.entry,
      ...writePaths,
    ];
    protections.mountNamespace = true;
    protections.network = true;
    protections.pid = true;
    protections.noNewPrivs = true;
    if ('bpf' in tools.seccomp) {
      seccompBpf = tools.seccomp.bpf;
      protections.seccomp = true;
    } else {
      missing.seccomp = tools.seccomp.error;
    }
    command = tools.bwrap;
    args = [
      ...bwrapArgs(
        launch,
        binds,
        writePaths,
        seccompBpf === undefined ? undefined : SECCOMP_FD,
        tools.procError === undefined,
      ),
      '--',
      ...inner,
      ...nodeArgs,
    ];
  } else {
    const why = tools.bwrapError ?? 'bubblewrap is not available';
    missing.mountNamespace = why;
    missing.noNewPrivs = why;
    missing.uid = why;
    missing.seccomp = `${why} (the filter is installed by bubblewrap)`;
    if (tools.unshare !== undefined && tools.unshareError === undefined) {
      confinement = 'unshare';
      command = tools.unshare;
      args = [...UNSHARE_FLAGS, '--', process.execPath, ...nodeArgs];
      protections.network = true;
      protections.pid = true;
    } else {
      const reason = tools.unshareError ?? 'unshare is not available';
      missing.network = reason;
      missing.pid = reason;
    }
  }
  if (tools.prlimit !== undefined && confinement !== 'none') {
    protections.rlimits = true;
    args = [...rlimitArgs(), command, ...args];
    command = tools.prlimit;
  } else {
    missing.rlimits = tools.prlimitError ?? 'the limits are set only together with namespaces';
  }

  const absent = PROTECTIONS.filter((p) => !protections[p]);
  if (absent.length > 0 && options.mode === 'required') {
    throw new Error(
      `Cannot start a sandbox host: ${options.setting ?? 'isolation mode'}=required but ${absent
        .map((p) => `${p} is missing (${missing[p]})`)
        .join('; ')}`,
    );
  }
  const cwd = mkdtempSync(join(tmpdir(), 'polyeval-sandbox-'));
  let seccompFile: string | undefined;
  if (seccompBpf !== undefined) {
    seccompFile = join(cwd, 'seccomp.bpf');
    writeFileSync(seccompFile, seccompBpf);
  }
  return {
    command,
    args,
    cwd,
    ...(seccompFile === undefined ? {} : { seccompFile }),
    ...(runAs === undefined ? {} : { runAs }),
    facts: {
      ...base,
      protections,
      missing,
      confinement,
      network: protections.network ? 'namespace' : 'host',
      pidNamespace: protections.pid,
      ...(uid === undefined ? {} : { uid }),
      ...(protections.rlimits ? { rlimits: { ...SANDBOX_RLIMITS } } : {}),
      ...(confinement === 'bubblewrap' ? { proc: tools.procError === undefined ? 'own' : 'none' } : {}),
      ...(absent.length === 0
        ? {}
        : {
            warning: `The sandbox host runs without ${absent.join(', ')}: ${[...new Set(absent.map((p) => missing[p]))].join('; ')}`,
          }),
    },
  };
}

/**
 * Starts a planned sandbox process: the seccomp filter on its file descriptor, the uid, the cwd.
 * `stdio` must have four entries (stdin, stdout, stderr, and the IPC channel on fd 3).
 */
export function spawnSandbox(
  plan: SandboxSpawnPlan,
  options: Omit<SpawnOptions, 'cwd' | 'uid' | 'gid'> & { stdio: readonly unknown[] },
): ChildProcess {
  let fd: number | undefined;
  if (plan.seccompFile !== undefined) fd = openSync(plan.seccompFile, 'r');
  try {
    const stdio = [...options.stdio, ...(fd === undefined ? [] : [fd])] as SpawnOptions['stdio'];
    return spawn(plan.command, plan.args, {
      ...options,
      stdio,
      // bubblewrap chdirs inside; outside, uid 65534 may not enter the private work folder.
      cwd: plan.facts.confinement === 'bubblewrap' ? '/' : plan.cwd,
      ...(plan.runAs === undefined ? {} : { uid: plan.runAs.uid, gid: plan.runAs.gid }),
    });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function disposeWorkDir(cwd: string): void {
  rmSync(cwd, { recursive: true, force: true });
}

/** What is seen of a running sandbox from outside, in /proc (Linux). */
export interface ObservedSandbox {
  readonly pid: number;
  readonly uid: number;
  readonly noNewPrivs: boolean;
  readonly seccomp: boolean;
  readonly ownMountNamespace: boolean;
  readonly ownNetworkNamespace: boolean;
}

/**
 * Reads the state of the node process of a sandbox (the started process, or its only descendant
 * under a launcher such as bubblewrap or unshare) from /proc: the check does not trust the plan.
 */
export function observeSandbox(pid: number): ObservedSandbox | undefined {
  try {
    let target = pid;
    for (let depth = 0; depth < 3; depth++) {
      const exe = readlinkSync(`/proc/${target}/exe`);
      if (exe === process.execPath) break;
      const children = readFileSync(`/proc/${target}/task/${target}/children`, 'latin1').trim();
      if (children === '') break;
      target = Number(children.split(/\s+/)[0]);
    }
    const status = readFileSync(`/proc/${target}/status`, 'latin1');
    const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
    const ns = (kind: string, p: number | 'self'): string => readlinkSync(`/proc/${p}/ns/${kind}`);
    return {
      pid: target,
      uid: Number(field('Uid').split(/\s+/)[0]),
      noNewPrivs: field('NoNewPrivs') === '1',
      seccomp: field('Seccomp') === '2',
      ownMountNamespace: ns('mnt', target) !== ns('mnt', 'self'),
      ownNetworkNamespace: ns('net', target) !== ns('net', 'self'),
    };
  } catch {
    return undefined;
  }
}
