;; A WASI command that returns its arguments in reverse order: it splits the JSON array on stdin
;; at its top-level commas (tracking nesting and strings) and writes the pieces back reversed.
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 64)
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
  ;; One fd_write of [ptr, ptr + len) to fd; returns the errno.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "_start")
    (local $len i32) (local $i i32) (local $c i32) (local $depth i32) (local $instr i32)
    (local $count i32) (local $start i32) (local $out i32) (local $k i32) (local $s i32) (local $e i32)
    (local.set $len (call $read_all))
    ;; element boundaries (start, end) as pairs of i32 at 2 MiB
    (local.set $i (i32.const 1025))
    (local.set $start (i32.const 1025))
    (block $scanned
      (loop $scan
        (br_if $scanned (i32.ge_u (local.get $i) (i32.add (i32.const 1023) (local.get $len))))
        (local.set $c (i32.load8_u (local.get $i)))
        (if (local.get $instr)
          (then
            (if (i32.eq (local.get $c) (i32.const 92)) (then (local.set $i (i32.add (local.get $i) (i32.const 1))))
              (else (if (i32.eq (local.get $c) (i32.const 34)) (then (local.set $instr (i32.const 0)))))))
          (else
            (if (i32.eq (local.get $c) (i32.const 34)) (then (local.set $instr (i32.const 1))))
            (if (i32.or (i32.eq (local.get $c) (i32.const 91)) (i32.eq (local.get $c) (i32.const 123)))
              (then (local.set $depth (i32.add (local.get $depth) (i32.const 1)))))
            (if (i32.or (i32.eq (local.get $c) (i32.const 93)) (i32.eq (local.get $c) (i32.const 125)))
              (then (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))))
            (if (i32.and (i32.eq (local.get $c) (i32.const 44)) (i32.eqz (local.get $depth)))
              (then
                (i32.store (i32.add (i32.const 2097152) (i32.shl (local.get $count) (i32.const 3))) (local.get $start))
                (i32.store (i32.add (i32.const 2097156) (i32.shl (local.get $count) (i32.const 3))) (local.get $i))
                (local.set $count (i32.add (local.get $count) (i32.const 1)))
                (local.set $start (i32.add (local.get $i) (i32.const 1)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (i32.store (i32.add (i32.const 2097152) (i32.shl (local.get $count) (i32.const 3))) (local.get $start))
    (i32.store (i32.add (i32.const 2097156) (i32.shl (local.get $count) (i32.const 3))) (local.get $i))
    (local.set $count (i32.add (local.get $count) (i32.const 1)))
    ;; write "[" + pieces reversed, joined by "," + "]" at 3 MiB
    (local.set $out (i32.const 3145728))
    (i32.store8 (local.get $out) (i32.const 91))
    (local.set $out (i32.add (local.get $out) (i32.const 1)))
    (local.set $k (local.get $count))
    (block $written
      (loop $each
        (br_if $written (i32.eqz (local.get $k)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (local.set $s (i32.load (i32.add (i32.const 2097152) (i32.shl (local.get $k) (i32.const 3)))))
        (local.set $e (i32.load (i32.add (i32.const 2097156) (i32.shl (local.get $k) (i32.const 3)))))
        (memory.copy (local.get $out) (local.get $s) (i32.sub (local.get $e) (local.get $s)))
        (local.set $out (i32.add (local.get $out) (i32.sub (local.get $e) (local.get $s))))
        (if (local.get $k) (then
          (i32.store8 (local.get $out) (i32.const 44))
          (local.set $out (i32.add (local.get $out) (i32.const 1)))))
        (br $each)))
    (i32.store8 (local.get $out) (i32.const 93))
    (drop (call $write (i32.const 1) (i32.const 3145728) (i32.sub (i32.add (local.get $out) (i32.const 1)) (i32.const 3145728))))))
