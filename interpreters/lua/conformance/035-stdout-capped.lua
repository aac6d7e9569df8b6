function main()
  local i = 0
  while true do
    print("line " .. i)
    i = i + 1
  end
end
