;; Grows memory until refused: our cap makes it MEMORY_LIMIT.
(component
  (core module $m

    (memory 1)
    (func (export "main") (result i32)
      (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
      (memory.size))
  )
  (core instance $i (instantiate $m))
  (func (export "main") (result s32) (canon lift (core func $i "main"))))
