;; Fills 64 MiB of memory again and again: a loop of one long native operation, stopped with TIMEOUT.
(component
  (core module $m

    (memory 1024)
    (func (export "main") (result i32)
      (loop $l (memory.fill (i32.const 0) (i32.const 7) (i32.const 67108864)) (br $l))
      (i32.const 0))
  )
  (core instance $i (instantiate $m))
  (func (export "main") (result s32) (canon lift (core func $i "main"))))
