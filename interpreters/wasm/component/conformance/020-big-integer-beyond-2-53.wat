;; Adds one to an s64: integers beyond 2^53 are exact both ways.
(component
  (core module $m

    (func (export "inc") (param i64) (result i64) (i64.add (local.get 0) (i64.const 1)))
  )
  (core instance $i (instantiate $m))
  (func (export "inc") (param "n" s64) (result s64) (canon lift (core func $i "inc"))))
