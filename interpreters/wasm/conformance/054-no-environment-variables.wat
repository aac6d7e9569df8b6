;; A WASI command that reports "none" when the environment is empty.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "\"none\"")
  (data (i32.const 110) "\"some\"")
  ;; One fd_write of [ptr, ptr + len) to fd; returns the errno.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "_start")
    (drop (call $environ_sizes_get (i32.const 16) (i32.const 20)))
    (if (i32.eqz (i32.load (i32.const 16)))
      (then (drop (call $write (i32.const 1) (i32.const 100) (i32.const 6))))
      (else (drop (call $write (i32.const 1) (i32.const 110) (i32.const 6)))))))
