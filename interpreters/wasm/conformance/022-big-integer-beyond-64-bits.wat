;; A WASI command that doubles an integer of any size: the decimal digits arrive on stdin (inside
;; the argument array) and the doubled digits leave on stdout, carried from the right.
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory 17)
  (func (export "_start")
    (local $len i32) (local $n i32) (local $i i32) (local $d i32) (local $carry i32) (local $out i32)
    (block $done
      (loop $read
        (i32.store (i32.const 0) (i32.add (i32.const 1024) (local.get $len)))
        (i32.store (i32.const 4) (i32.sub (i32.const 65536) (local.get $len)))
        (br_if $done (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $n (i32.load (i32.const 8)))
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $len (i32.add (local.get $len) (local.get $n)))
        (br $read)))
    ;; find the last digit
    (local.set $i (i32.add (i32.const 1023) (local.get $len)))
    (block $found
      (loop $back
        (br_if $found (i32.and (i32.ge_u (i32.load8_u (local.get $i)) (i32.const 48))
                               (i32.le_u (i32.load8_u (local.get $i)) (i32.const 57))))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $back)))
    ;; double right to left into a buffer that grows leftwards from 200000
    (local.set $out (i32.const 200000))
    (block $end
      (loop $digit
        (local.set $d (i32.load8_u (local.get $i)))
        (br_if $end (i32.or (i32.lt_u (local.get $d) (i32.const 48)) (i32.gt_u (local.get $d) (i32.const 57))))
        (local.set $d (i32.add (i32.mul (i32.sub (local.get $d) (i32.const 48)) (i32.const 2)) (local.get $carry)))
        (local.set $carry (i32.ge_u (local.get $d) (i32.const 10)))
        (local.set $out (i32.sub (local.get $out) (i32.const 1)))
        (i32.store8 (local.get $out) (i32.add (i32.const 48) (i32.rem_u (local.get $d) (i32.const 10))))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $digit)))
    (if (local.get $carry) (then
      (local.set $out (i32.sub (local.get $out) (i32.const 1)))
      (i32.store8 (local.get $out) (i32.const 49))))
    (i32.store (i32.const 0) (local.get $out))
    (i32.store (i32.const 4) (i32.sub (i32.const 200000) (local.get $out)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
