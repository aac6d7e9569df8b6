;; Recurses without end: a clean RUNTIME_ERROR (stack overflow).
(component
  (core module $m

    (func $r (export "main") (result i32) (i32.add (call $r) (i32.const 1)))
  )
  (core instance $i (instantiate $m))
  (func (export "main") (result s32) (canon lift (core func $i "main"))))
