;; Exports "main", but as a global, not a function.
(module
  (global (export "main") i32 (i32.const 1)))
