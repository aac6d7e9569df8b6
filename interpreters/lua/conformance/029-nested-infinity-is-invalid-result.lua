function main()
  return { a = { 1, -math.huge } }
end
