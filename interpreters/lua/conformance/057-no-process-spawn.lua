function main()
  if os.execute() then return "a shell is available" end
  local status = os.execute("echo spawned")
  if status then return "os.execute" end
  local ok, pipe = pcall(io.popen, "echo spawned")
  if ok and pipe ~= nil then return "io.popen" end
  return "blocked"
end
