;; Returns NaN from an f64 export: INVALID_RESULT.
(component
  (core module $m

    (func (export "main") (result f64) (f64.div (f64.const 0) (f64.const 0)))
  )
  (core instance $i (instantiate $m))
  (func (export "main") (result f64) (canon lift (core func $i "main"))))
