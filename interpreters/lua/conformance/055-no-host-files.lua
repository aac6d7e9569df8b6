function main()
  for _, path in ipairs({ "/etc/passwd", "/proc/self/environ", "package.json" }) do
    local file = io.open(path, "r")
    if file ~= nil then return file:read("a") end
  end
  local ok, chunk = pcall(loadfile, "/etc/passwd")
  if ok and chunk ~= nil then return "loadfile" end
  local ok2, lines = pcall(io.lines, "/etc/passwd")
  if ok2 then return "io.lines" end
  return "blocked"
end
