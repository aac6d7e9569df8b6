function main()
  local a = { name = "loop" }
  a.self = a
  return a
end
