;; Halves a number with f64 division.
(module
  (func (export "half") (param f64) (result f64) (f64.div (local.get 0) (f64.const 2))))
