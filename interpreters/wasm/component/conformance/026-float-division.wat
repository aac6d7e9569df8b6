;; Halves an s32 into an f64.
(component
  (core module $m

    (func (export "half") (param i32) (result f64) (f64.div (f64.convert_i32_s (local.get 0)) (f64.const 2)))
  )
  (core instance $i (instantiate $m))
  (func (export "half") (param "n" s32) (result f64) (canon lift (core func $i "half"))))
