;; A WASI command that measures a string: stdin holds ["<text>"]; it writes back the string and
;; its length in Unicode code points (UTF-8 lead bytes, an escape counting as one), as
;; ["<text>", n].
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 17)
  ;; Reads all of stdin to offset 1024 (at most 1 MiB); returns its length without trailing whitespace.
  (func $read_all (result i32) (local $len i32) (local $n i32)
    (block $done
      (loop $read
        (i32.store (i32.const 0) (i32.add (i32.const 1024) (local.get $len)))
        (i32.store (i32.const 4) (i32.sub (i32.const 1048576) (local.get $len)))
        (br_if $done (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $n (i32.load (i32.const 8)))
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $len (i32.add (local.get $len) (local.get $n)))
        (br $read)))
    (block $trimmed
      (loop $trim
        (br_if $trimmed (i32.eqz (local.get $len)))
        (br_if $trimmed (i32.gt_u (i32.load8_u (i32.add (i32.const 1023) (local.get $len))) (i32.const 32)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $trim)))
    (local.get $len))
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
  ;; One fd_write of [ptr, ptr + len) to fd; returns the errno.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "_start")
    (local $len i32) (local $i i32) (local $end i32) (local $c i32) (local $n i64) (local $out i32)
    (local.set $len (call $read_all))
    ;; the string literal is [1025, 1023 + len): skip its quotes when counting
    (local.set $i (i32.const 1026))
    (local.set $end (i32.add (i32.const 1022) (local.get $len)))
    (block $counted
      (loop $count
        (br_if $counted (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $i)))
        (if (i32.eq (local.get $c) (i32.const 92))
          (then
            (local.set $n (i64.add (local.get $n) (i64.const 1)))
            (local.set $i (i32.add (local.get $i)
              (select (i32.const 6) (i32.const 2) (i32.eq (i32.load8_u (i32.add (local.get $i) (i32.const 1))) (i32.const 117))))))
          (else
            (if (i32.ne (i32.and (local.get $c) (i32.const 192)) (i32.const 128))
              (then (local.set $n (i64.add (local.get $n) (i64.const 1)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))))
        (br $count)))
    ;; "[" + literal + "," + n + "]" built in place: the "[" is already at 1024
    (local.set $out (i32.add (i32.const 1023) (local.get $len)))
    (i32.store8 (local.get $out) (i32.const 44))
    (local.set $out (i32.add (local.get $out) (i32.const 1)))
    (local.set $out (i32.add (local.get $out) (call $itoa (local.get $n) (local.get $out))))
    (i32.store8 (local.get $out) (i32.const 93))
    (drop (call $write (i32.const 1) (i32.const 1024) (i32.sub (i32.add (local.get $out) (i32.const 1)) (i32.const 1024))))))
