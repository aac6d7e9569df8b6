(module
  (func (export "main") (result i32) (this is not an instruction))
)
