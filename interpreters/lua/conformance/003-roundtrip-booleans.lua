function pair(a, b)
  return { b, a }
end
