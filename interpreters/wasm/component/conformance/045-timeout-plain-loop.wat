;; Loops forever: fuel or the watchdog stops it with TIMEOUT.
(component
  (core module $m

    (func (export "main") (result i32) (loop $l (br $l)) (i32.const 0))
  )
  (core instance $i (instantiate $m))
  (func (export "main") (result s32) (canon lift (core func $i "main"))))
