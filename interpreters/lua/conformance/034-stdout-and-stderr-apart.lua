function main()
  print("out 1")
  io.stderr:write("err 1\n")
  io.write("out 2\n")
  return true
end
