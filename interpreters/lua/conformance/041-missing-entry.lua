function other()
  return 1
end
