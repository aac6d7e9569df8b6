function pow2(n)
  return 1 << n
end
