;; Skipped in manifest.json: WebAssembly has no async/await. This is what a call would look like.
(module
  (func (export "main") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2))))
