function total(xs)
  local sum = 0
  for _, x in ipairs(xs) do sum = sum + x end
  return sum
end
