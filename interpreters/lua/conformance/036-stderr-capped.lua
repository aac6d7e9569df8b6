function main()
  local i = 0
  while true do
    io.stderr:write("line " .. i .. "\n")
    i = i + 1
  end
end
