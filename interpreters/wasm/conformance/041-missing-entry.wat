;; Exports a function, but not "main", and is not a WASI command.
(module
  (func (export "other") (result i32) (i32.const 1)))
