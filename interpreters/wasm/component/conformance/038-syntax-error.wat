(component
  (core module $m (func (export "main") (result i32) (i32.const 1)) oops)
  ;; Component text with a syntax error on line 2: SYNTAX_ERROR attributed to line 2.
)
