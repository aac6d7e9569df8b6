-- Skipped in manifest.json: Lua has no async/await (coroutines are ordinary values).
function main(x)
  local co = coroutine.wrap(function(v) coroutine.yield(v) return v * 2 end)
  co(x)
  return co()
end
