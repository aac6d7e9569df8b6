-- Skipped in manifest.json: Lua integers are 64-bit. This is what a call would look like.
function double(n)
  return n * 2
end
