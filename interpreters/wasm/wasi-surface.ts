// The WASI preview1 surface a guest may import: every function of `wasi_snapshot_preview1` with its
// core signature. A module is checked against this list when it is registered (an import outside it,
// or with another signature, is refused with a message naming it); the runner's in-memory
// implementation (wasi.ts) provides exactly these names.

export const WASI_MODULE = 'wasi_snapshot_preview1';

type Num = 'i32' | 'i64';
export type WasiSignature = readonly [params: readonly Num[], results: readonly Num[]];

const I = 'i32';
const L = 'i64';

export const WASI_FUNCTIONS: Readonly<Record<string, WasiSignature>> = {
  args_get: [[I, I], [I]],
  args_sizes_get: [[I, I], [I]],
  environ_get: [[I, I], [I]],
  environ_sizes_get: [[I, I], [I]],
  clock_res_get: [[I, I], [I]],
  clock_time_get: [[I, L, I], [I]],
  fd_advise: [[I, L, L, I], [I]],
  fd_allocate: [[I, L, L], [I]],
  fd_close: [[I], [I]],
  fd_datasync: [[I], [I]],
  fd_fdstat_get: [[I, I], [I]],
  fd_fdstat_set_flags: [[I, I], [I]],
  fd_fdstat_set_rights: [[I, L, L], [I]],
  fd_filestat_get: [[I, I], [I]],
  fd_filestat_set_size: [[I, L], [I]],
  fd_filestat_set_times: [[I, L, L, I], [I]],
  fd_pread: [[I, I, I, L, I], [I]],
  fd_prestat_get: [[I, I], [I]],
  fd_prestat_dir_name: [[I, I, I], [I]],
  fd_pwrite: [[I, I, I, L, I], [I]],
  fd_read: [[I, I, I, I], [I]],
  fd_readdir: [[I, I, I, L, I], [I]],
  fd_renumber: [[I, I], [I]],
  fd_seek: [[I, L, I, I], [I]],
  fd_sync: [[I], [I]],
  fd_tell: [[I, I], [I]],
  fd_write: [[I, I, I, I], [I]],
  path_create_directory: [[I, I, I], [I]],
  path_filestat_get: [[I, I, I, I, I], [I]],
  path_filestat_set_times: [[I, I, I, I, L, L, I], [I]],
  path_link: [[I, I, I, I, I, I, I], [I]],
  path_open: [[I, I, I, I, I, L, L, I, I], [I]],
  path_readlink: [[I, I, I, I, I, I], [I]],
  path_remove_directory: [[I, I, I], [I]],
  path_rename: [[I, I, I, I, I, I], [I]],
  path_symlink: [[I, I, I, I, I], [I]],
  path_unlink_file: [[I, I, I], [I]],
  poll_oneoff: [[I, I, I, I], [I]],
  proc_exit: [[I], []],
  proc_raise: [[I], [I]],
  sched_yield: [[], [I]],
  random_get: [[I, I], [I]],
  sock_accept: [[I, I, I], [I]],
  sock_recv: [[I, I, I, I, I, I], [I]],
  sock_send: [[I, I, I, I, I], [I]],
  sock_shutdown: [[I, I], [I]],
};

export function formatSignature(params: readonly string[], results: readonly string[]): string {
  return `(${params.join(', ')}) -> (${results.join(', ')})`;
}
