;; Loops forever inside a handler that catches every exception and starts again; fuel ends
;; it with a trap, which exception handlers cannot catch.
(module
  (func (export "main")
    (loop $again
      (try
        (do (loop $forever (br $forever)))
        (catch_all))
      (br $again))))
