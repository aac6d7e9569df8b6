;; Writes "line N" to stdout without end: stopped at the output limit.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory 1)
  ;; One fd_write of [ptr, ptr + len) to fd; returns the errno.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  ;; Writes the decimal digits of $n (unsigned) at $ptr; returns how many.
  (func $itoa (param $n i64) (param $ptr i32) (result i32) (local $len i32) (local $i i32) (local $t i32)
    (loop $digits
      (i32.store8 (i32.add (local.get $ptr) (local.get $len))
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (br_if $digits (i64.ne (local.get $n) (i64.const 0))))
    ;; reverse in place
    (local.set $i (i32.const 0))
    (block $done
      (loop $swap
        (br_if $done (i32.ge_s (local.get $i) (i32.sub (i32.sub (local.get $len) (local.get $i)) (i32.const 1))))
        (local.set $t (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
        (i32.store8 (i32.add (local.get $ptr) (local.get $i))
          (i32.load8_u (i32.add (local.get $ptr) (i32.sub (i32.sub (local.get $len) (local.get $i)) (i32.const 1)))))
        (i32.store8 (i32.add (local.get $ptr) (i32.sub (i32.sub (local.get $len) (local.get $i)) (i32.const 1))) (local.get $t))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $swap)))
    (local.get $len))
  (func (export "main") (local $i i64) (local $len i32)
    (i32.store (i32.const 100) (i32.const 0x656e696c)) ;; "line"
    (i32.store8 (i32.const 104) (i32.const 32))
    (loop $forever
      (local.set $len (call $itoa (local.get $i) (i32.const 105)))
      (i32.store8 (i32.add (i32.const 105) (local.get $len)) (i32.const 10))
      (drop (call $write (i32.const 1) (i32.const 100) (i32.add (local.get $len) (i32.const 6))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $forever))))
