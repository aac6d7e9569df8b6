;; A WASI command that tries the only socket calls preview1 has (accept and send on fd 3, the
;; descriptor a host would pass a socket as); "blocked" when both fail.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_accept" (func $sock_accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send" (func $sock_send (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "\"blocked\"")
  (data (i32.const 120) "\"open\"")
  ;; One fd_write of [ptr, ptr + len) to fd; returns the errno.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "_start")
    (if (i32.and
          (i32.ne (call $sock_accept (i32.const 3) (i32.const 0) (i32.const 400)) (i32.const 0))
          (i32.ne (call $sock_send (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 400)) (i32.const 0)))
      (then (drop (call $write (i32.const 1) (i32.const 100) (i32.const 9))))
      (else (drop (call $write (i32.const 1) (i32.const 120) (i32.const 6)))))))
