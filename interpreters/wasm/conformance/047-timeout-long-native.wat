;; Fills 64 MiB with memory.fill over and over: each pass is one native operation, so only
;; the watchdog (terminating the worker) can stop it.
(module
  (memory 1024)
  (func (export "main") (loop $again (memory.fill (i32.const 0) (i32.const 7) (i32.const 67108864)) (br $again))))
