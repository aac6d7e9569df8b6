-- Lua integers are 64-bit: 2^53 + 1 is exact.
function inc(n)
  return n + 1
end
