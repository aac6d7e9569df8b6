function main()
  return 0 / 0
end
