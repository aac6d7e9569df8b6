;; A WASI command whose result (a JSON string of 2000 characters) is larger than the output limit.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; One fd_write of [ptr, ptr + len) to fd; returns the errno.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "_start")
    (i32.store8 (i32.const 100) (i32.const 34))
    (memory.fill (i32.const 101) (i32.const 97) (i32.const 2000))
    (i32.store8 (i32.const 2101) (i32.const 34))
    (drop (call $write (i32.const 1) (i32.const 100) (i32.const 2002)))))
