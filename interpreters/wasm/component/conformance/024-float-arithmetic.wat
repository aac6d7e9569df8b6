;; Adds two f64.
(component
  (core module $m

    (func (export "add") (param f64 f64) (result f64) (f64.add (local.get 0) (local.get 1)))
  )
  (core instance $i (instantiate $m))
  (func (export "add") (param "a" f64) (param "b" f64) (result f64) (canon lift (core func $i "add"))))
