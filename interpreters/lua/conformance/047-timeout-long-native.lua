-- One string.find with a backtracking pattern runs for minutes inside Lua's C code, where the
-- count hook never fires: only the pool's watchdog (which terminates the worker) stops it.
function main()
  local s = string.rep("a", 200000)
  return string.find(s, ".-.-.-.-b")
end
