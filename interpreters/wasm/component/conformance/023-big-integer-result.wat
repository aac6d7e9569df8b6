;; Returns 2^n as an s64 computed in the guest.
(component
  (core module $m

    (func (export "pow2") (param i32) (result i64) (i64.shl (i64.const 1) (i64.extend_i32_u (local.get 0))))
  )
  (core instance $i (instantiate $m))
  (func (export "pow2") (param "n" u32) (result s64) (canon lift (core func $i "pow2"))))
