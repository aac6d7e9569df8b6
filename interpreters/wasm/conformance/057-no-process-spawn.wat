;; WASI preview1 has no way to start a process (and a module importing anything else is refused
;; at registration); the closest call, proc_raise, fails: "blocked".
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_raise" (func $proc_raise (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "\"blocked\"")
  (data (i32.const 120) "\"spawned\"")
  ;; One fd_write of [ptr, ptr + len) to fd; returns the errno.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "_start")
    (if (i32.ne (call $proc_raise (i32.const 17)) (i32.const 0))
      (then (drop (call $write (i32.const 1) (i32.const 100) (i32.const 9))))
      (else (drop (call $write (i32.const 1) (i32.const 120) (i32.const 9)))))))
