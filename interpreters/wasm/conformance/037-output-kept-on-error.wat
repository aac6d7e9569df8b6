;; Prints to stdout, then reports the failure on stderr and exits with status 1.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory 1)
  (data (i32.const 100) "before\n")
  (data (i32.const 200) "conformance failure after printing\n")
  ;; One fd_write of [ptr, ptr + len) to fd; returns the errno.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "main") (result i32)
    (drop (call $write (i32.const 1) (i32.const 100) (i32.const 7)))
    (drop (call $write (i32.const 2) (i32.const 200) (i32.const 35)))
    (call $proc_exit (i32.const 1))
    (i32.const 0)))
