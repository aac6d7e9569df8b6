// Lua that runs in every fresh state before the user's code (compiled per VM, ~30 µs). It takes what
// the host needs into locals before user code can replace the globals, narrows the standard library
// to what cannot reach past the sandbox or undo its limits, and defines the `json` helpers. It is
// called with three arguments (json.null, a NULL light userdata that Lua code cannot forge, and two
// random seeds) and returns the message handler every protected call uses and the two marker
// metatables that say whether a table is a JSON array or object.

export const PRELUDE = String.raw`
local null, seed1, seed2 = ...
-- Seeded by the host from crypto.getRandomValues: Lua's own seed is the time in seconds and
-- addresses that are the same in every fresh instance, so every call within a second drew the
-- same "random" numbers (one call could predict another's).
math.randomseed(seed1, seed2)
local type, tostring, getmetatable, setmetatable, pcall = type, tostring, getmetatable, setmetatable, pcall
local traceback = debug.traceback
local array_mt = { __name = "json.array" }
local object_mt = { __name = "json.object" }

json = {
  null = null,
  array = function(t) return setmetatable(t or {}, array_mt) end,
  object = function(t) return setmetatable(t or {}, object_mt) end,
}

-- Text chunks only: a crafted binary chunk can break the VM's invariants. A reader function is
-- drained here, never handed to the real load: while load calls a reader, the reader could find
-- load itself on the stack (debug.getinfo(2, "f").func) and call it with mode "b".
local raw_load, concat = load, table.concat
load = function(chunk, name, _, env)
  if type(chunk) == "function" then
    local parts = {}
    while true do
      local ok, piece = pcall(chunk)
      if not ok then return nil, piece end
      if piece == nil or piece == "" then break end
      if type(piece) ~= "string" then return nil, "reader function must return a string" end
      parts[#parts + 1] = piece
    end
    chunk = concat(parts)
  end
  if type(chunk) ~= "string" then
    return nil, "bad argument #1 to 'load' (string or function expected, got " .. type(chunk) .. ")"
  end
  return raw_load(chunk, name, "t", env)
end
-- Only the harmless part of the debug library: the rest can rewrite locals, upvalues and
-- metatables of other types, or remove the host's count hook. getinfo never hands out the
-- function running at a stack level ("f"): that would reach whatever C function is on the stack,
-- such as the real load while a __gc finalizer runs inside it (and load it with mode "b").
local getinfo, gsub, running = debug.getinfo, string.gsub, coroutine.running
debug = {
  traceback = traceback,
  getinfo = function(a, b, c)
    local thread, target, what = nil, a, b
    if type(a) == "thread" then thread, target, what = a, b, c end
    if type(target) ~= "number" then
      if thread == nil then return getinfo(target, what) end
      return getinfo(thread, target, what)
    end
    -- On the running stack this wrapper is level 1: the caller's levels start one further up.
    if target > 0 and (thread == nil or thread == running()) then target = target + 1 end
    if what ~= nil and type(what) ~= "string" then what = tostring(what) end
    what = gsub(what or "lnSrtu", "f", "")
    local info
    if thread == nil then info = getinfo(target, what) else info = getinfo(thread, target, what) end
    if type(info) == "table" then info.func = nil end
    return info
  end,
}
package.loadlib = nil
package.cpath = ""
package.path = ""
io.stdout:setvbuf("line")

-- The message handler: the message (as lua.c's own handler builds it), a NUL, then the traceback.
return function(e)
  local kind = type(e)
  local message
  if kind == "string" then
    message = e
  elseif kind == "number" or kind == "boolean" or kind == "nil" then
    message = tostring(e)
  else
    local mt = getmetatable(e)
    local ok, text = false, nil
    if type(mt) == "table" and mt.__tostring ~= nil then ok, text = pcall(tostring, e) end
    message = (ok and type(text) == "string") and text or ("(error object is a " .. kind .. " value)")
  end
  return message .. "\0" .. traceback("", 2)
end, array_mt, object_mt
`;
