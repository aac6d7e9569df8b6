function main()
  return string.rep("x", 5000)
end
