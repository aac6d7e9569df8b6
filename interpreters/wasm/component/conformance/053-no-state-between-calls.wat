;; Increments a global counter: 1 on every call, each call has fresh instances.
(component
  (core module $m

    (global $n (mut i32) (i32.const 0))
    (func (export "main") (result i32)
      (global.set $n (i32.add (global.get $n) (i32.const 1)))
      (global.get $n))
  )
  (core instance $i (instantiate $m))
  (func (export "main") (result s32) (canon lift (core func $i "main"))))
