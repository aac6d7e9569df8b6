;; Returns +Infinity, which JSON cannot carry.
(module
  (func (export "main") (result f64) (f64.div (f64.const 1) (f64.const 0))))
