function main()
  local first, differs = math.random(), false
  for _ = 1, 19 do
    local x = math.random()
    if x < 0 or x >= 1 then return false end
    if x ~= first then differs = true end
  end
  return differs
end
