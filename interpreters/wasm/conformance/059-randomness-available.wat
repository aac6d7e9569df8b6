;; A WASI command that asks for 16 random bytes and checks they are not all zero.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "true")
  (data (i32.const 110) "false")
  ;; One fd_write of [ptr, ptr + len) to fd; returns the errno.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "_start")
    (if (i32.and
          (i32.eqz (call $random_get (i32.const 16) (i32.const 16)))
          (i32.or (i64.ne (i64.load (i32.const 16)) (i64.const 0)) (i64.ne (i64.load (i32.const 24)) (i64.const 0))))
      (then (drop (call $write (i32.const 1) (i32.const 100) (i32.const 4))))
      (else (drop (call $write (i32.const 1) (i32.const 110) (i32.const 5)))))))
