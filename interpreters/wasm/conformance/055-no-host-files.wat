;; A WASI command that tries to open /etc/passwd and /proc/self/environ through the first
;; preopened directory (fd 3) and through stdin; "blocked" when every attempt fails.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "\"blocked\"")
  (data (i32.const 120) "\"open\"")
  (data (i32.const 200) "/etc/passwd")
  (data (i32.const 300) "/proc/self/environ")
  ;; One fd_write of [ptr, ptr + len) to fd; returns the errno.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "_start")
    (local $errors i32)
    (local.set $errors (i32.add
      (i32.add
        (i32.ne (call $path_open (i32.const 3) (i32.const 1) (i32.const 200) (i32.const 11) (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 400)) (i32.const 0))
        (i32.ne (call $path_open (i32.const 3) (i32.const 1) (i32.const 300) (i32.const 18) (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 400)) (i32.const 0)))
      (i32.ne (call $path_open (i32.const 0) (i32.const 1) (i32.const 200) (i32.const 11) (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 400)) (i32.const 0))))
    (if (i32.eq (local.get $errors) (i32.const 3))
      (then (drop (call $write (i32.const 1) (i32.const 100) (i32.const 9))))
      (else (drop (call $write (i32.const 1) (i32.const 120) (i32.const 6)))))))
