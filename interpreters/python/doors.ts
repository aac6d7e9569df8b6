// The doors of a Python interpreter: the imports of pyodide.asm.wasm that stay callable once the
// interpreter has booted (engine.ts `gateImports` closes every other one before any guest byte
// runs). WebAssembly can only call out through its imports, so this list is the whole surface by
// which guest Python reaches JavaScript. Everything else — Pyodide's JS FFI (hiwire, Jsv*, JsProxy*,
// pyproxy*, python2js*, js2python*, raw_call_js, JsException_new_helper...), EM_ASM snippets,
// dlopen, libffi, sockets and name lookups, JSPI helpers, GL, logging — traps: the call ends with
// SANDBOX_CRASH and the interpreter is discarded. test/python/doors.test.ts keeps this list, the
// module's imports and the gate's code in sync; docs/security.md ("Python doors") points here.
// PYTHON_DEVICE_DOORS, below, are the devices of the in-memory filesystem whose handlers do more than
// store bytes: they are served inside the fd_write/fd_read doors, so they add no import.

/** Import name (module `env` or `wasi_snapshot_preview1`) → why it stays open. */
export const PYTHON_DOORS: Readonly<Record<string, string>> = {
  // WASI: Emscripten's implementations over its in-memory filesystem, clocks and crypto.
  fd_read: 'read(): in-memory filesystem, pipes and the stdin device',
  fd_write: 'write(): in-memory filesystem, pipes, and stdout/stderr (the capped output stream)',
  fd_pread: 'pread() on an in-memory file',
  fd_pwrite: 'pwrite() on an in-memory file (counted by the write quota)',
  fd_seek: 'lseek() on an in-memory file',
  fd_close: 'close() of an in-memory file descriptor',
  fd_sync: 'fsync(): a no-op on the in-memory filesystem',
  fd_fdstat_get: 'fstat-like flags of a descriptor (isatty, buffering decisions)',
  environ_sizes_get: 'the (empty, fixed) environment, read by os.environ',
  environ_get: 'the (empty, fixed) environment, read by os.environ',
  clock_time_get: 'time.time/monotonic/perf_counter',
  clock_res_get: 'time.get_clock_info',
  random_get: 'os.urandom and hash randomisation (crypto.getRandomValues)',
  proc_exit: 'sys.exit/os._exit at C level: throws ExitStatus, which ends the call (RUNTIME_ERROR exit)',
  // Emscripten syscalls over the in-memory filesystem (MEMFS/TTY/PIPEFS; NODEFS is never mounted).
  __syscall_openat: 'open() in the in-memory filesystem',
  __syscall_fcntl64: 'fcntl() on an in-memory descriptor',
  __syscall_ioctl: 'ioctl() on the TTY devices (isatty, terminal size)',
  __syscall_faccessat: 'os.access in the in-memory filesystem',
  __syscall_chdir: 'os.chdir in the in-memory filesystem',
  __syscall_fchdir: 'os.fchdir in the in-memory filesystem',
  __syscall_getcwd: 'os.getcwd in the in-memory filesystem',
  __syscall_chmod: 'os.chmod in the in-memory filesystem',
  __syscall_fchmod: 'os.fchmod in the in-memory filesystem',
  __syscall_fchmodat2: 'os.chmod(dir_fd=...) in the in-memory filesystem',
  __syscall_fchownat: 'os.chown in the in-memory filesystem',
  __syscall_fchown32: 'os.fchown in the in-memory filesystem',
  __syscall_dup: 'os.dup of an in-memory descriptor',
  __syscall_dup3: 'os.dup2 of an in-memory descriptor',
  __syscall_fdatasync: 'os.fdatasync: a no-op',
  __syscall_fstat64: 'os.fstat',
  __syscall_stat64: 'os.stat',
  __syscall_newfstatat: 'os.stat(dir_fd=...)',
  __syscall_lstat64: 'os.lstat',
  __syscall_statfs64: 'os.statvfs (fixed numbers)',
  __syscall_fstatfs64: 'os.fstatvfs (fixed numbers)',
  __syscall_ftruncate64: 'os.ftruncate (counted by the write quota)',
  __syscall_truncate64: 'os.truncate (counted by the write quota)',
  __syscall_fallocate: 'os.posix_fallocate (counted by the write quota)',
  __syscall_fadvise64: 'os.posix_fadvise: a no-op',
  __syscall_getdents64: 'os.listdir/scandir',
  __syscall_mkdirat: 'os.mkdir (each new node counted by the write quota)',
  __syscall_mknodat: 'os.mkfifo/mknod in the in-memory filesystem (each new node counted by the write quota)',
  __syscall_readlinkat: 'os.readlink',
  __syscall_symlinkat: 'os.symlink (the node and its target counted by the write quota)',
  __syscall_unlinkat: 'os.unlink',
  __syscall_rmdir: 'os.rmdir',
  __syscall_renameat: 'os.rename',
  __syscall_utimensat: 'os.utime',
  __syscall_pipe: 'os.pipe (PIPEFS; counted by the write quota)',
  __syscall_poll: 'select/poll over in-memory descriptors',
  __syscall_getuid32_js: 'os.getuid (a constant)',
  __syscall_umask_js: 'os.umask',
  _mmap_js: 'mmap of an in-memory file (copies into linear memory)',
  _munmap_js: 'munmap of an in-memory file mapping (bytes written back counted by the write quota)',
  _msync_js: 'msync of an in-memory file mapping (bytes written back counted by the write quota)',
  // Time.
  emscripten_date_now: 'the wall clock (time.time, datetime.now)',
  emscripten_get_now: 'the monotonic clock (time.monotonic, time.sleep busy-wait)',
  _tzset_js: 'time.tzset: the (UTC) zone names',
  _localtime_js: 'time.localtime',
  _gmtime_js: 'time.gmtime',
  _mktime_js: 'time.mktime',
  _timegm_js: 'calendar arithmetic in the C library',
  // Memory and the runtime.
  emscripten_resize_heap: 'heap growth, refused past the call’s memory limit (MemoryError)',
  emscripten_get_heap_max: 'the heap ceiling malloc may grow to',
  _abort_js: 'abort(): throws, which ends the call (the interpreter is discarded)',
  __assert_fail: 'a failed C assertion: throws, which ends the call',
  exit: 'exit() in C (os._exit): throws ExitStatus, which ends the call',
  _try_fcntl64:
    'replaced by the constant 0 ("not a JS socket") before instantiation: fcntl() takes the ordinary path',
  _maybe_poll_async:
    'replaced by a constant null ("not a JS socket") before instantiation: poll()/select() take the ordinary path',
  _PyEM_TrampolineCall_JS:
    "CPython's call of a C function pointer (method tables) through the function table: reaches only what call_indirect reaches",
  __call_sighandler:
    'raise() and signal.raise_signal: calls the C signal handler through the function table (what call_indirect reaches)',
  _Py_CheckEmscriptenSignals_Helper: 'reads the interrupt buffer: how the deadline raises KeyboardInterrupt',
};

/**
 * Device path → why it exists. Its handlers run in JavaScript inside fd_write/fd_read (open anyway),
 * so it is a door of its own: listed here and in the same table of docs/security.md.
 */
export const PYTHON_DEVICE_DOORS: Readonly<Record<string, string>> = {
  '/dev/wikifunctions':
    'W.Call (Wikifunctions reentrance, call-out.ts): one write is a call to another function, sent to the service and answered while the guest blocks; only for a reentrant request (else the reference Z507), capped in calls, bytes and waiting evaluations, within the caller’s deadline; a session per call, so a descriptor of another call is refused',
};
