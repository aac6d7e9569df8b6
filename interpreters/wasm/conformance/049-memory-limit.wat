;; Grows its memory 1 MiB at a time without end.
(module
  (memory 1)
  (func (export "main") (loop $more (drop (memory.grow (i32.const 16))) (br $more))))
