;; Returns 2^n as an i64: the result beyond 2^53 leaves exact.
(module
  (func (export "pow2") (param i32) (result i64) (i64.shl (i64.const 1) (i64.extend_i32_u (local.get 0)))))
