function main()
  local x = = 1
  return x
end
