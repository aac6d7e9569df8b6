function main()
  local hoard = {}
  local i = 0
  while true do
    i = i + 1
    hoard[i] = string.rep("x", 100000) .. i
  end
end
