;; Returns NaN, which JSON cannot carry.
(module
  (func (export "main") (result f64) (f64.div (f64.const 0) (f64.const 0))))
