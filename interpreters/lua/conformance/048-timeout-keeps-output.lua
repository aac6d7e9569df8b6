function main()
  print("before")
  while true do end
end
