;; Returns a function reference, which JSON cannot carry.
(module
  (func $f)
  (elem declare func $f)
  (func (export "main") (result funcref) (ref.func $f)))
