function main()
  print("before")
  error("raised after printing")
end
