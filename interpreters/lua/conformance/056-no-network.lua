-- Lua's standard library has no sockets, and require finds no C modules (package.cpath is empty).
function main()
  for _, name in ipairs({ "socket", "socket.core", "luasocket" }) do
    local ok = pcall(require, name)
    if ok then return name end
  end
  local ok, pipe = pcall(io.popen, "curl http://127.0.0.1/")
  if ok and pipe ~= nil then return "popen" end
  return "blocked"
end
