;; Exports "other", not "main": ENTRY_NOT_FOUND naming main.
(component
  (core module $m

    (func (export "other") (result i32) (i32.const 1))
  )
  (core instance $i (instantiate $m))
  (func (export "other") (result s32) (canon lift (core func $i "other"))))
