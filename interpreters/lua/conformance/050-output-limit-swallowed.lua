function main()
  while true do
    pcall(print, string.rep("y", 100))
  end
end
