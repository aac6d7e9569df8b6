;; Adds one to an i64: integers beyond 2^53 arrive and leave as exact 64-bit integers.
(module
  (func (export "inc") (param i64) (result i64) (i64.add (local.get 0) (i64.const 1))))
