;; Bumps a global counter and returns it: a fresh instance per call always says 1.
(module
  (global $count (mut i32) (i32.const 0))
  (func (export "main") (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.get $count)))
