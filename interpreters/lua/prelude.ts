// Lua that runs in every fresh state before the user's code (compiled per VM, ~30 µs). It takes what
// the host needs into locals before user code can replace the globals, narrows the standard library
// to what cannot reach past the sandbox or undo its limits, and defines the `json` helpers. It is
// called with one argument (json.null, a NULL light userdata that Lua code cannot forge) and returns
// the message handler every protected call uses and the two marker metatables that say whether a
// table is a JSON array or object.

export const PRELUDE = String.raw`
local null = ...
local type, tostring, getmetatable, setmetatable, pcall = type, tostring, getmetatable, setmetatable, pcall
local traceback = debug.traceback
local array_mt = { __name = "json.array" }
local object_mt = { __name = "json.object" }

json = {
  null = null,
  array = function(t) return setmetatable(t or {}, array_mt) end,
  object = function(t) return setmetatable(t or {}, object_mt) end,
}

-- Text chunks only: a crafted binary chunk can break the VM's invariants.
local raw_load = load
load = function(chunk, name, _, env) return raw_load(chunk, name, "t", env) end
-- Only the harmless part of the debug library: the rest can rewrite locals, upvalues and
-- metatables of other types, or remove the host's count hook.
debug = { traceback = debug.traceback, getinfo = debug.getinfo }
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
