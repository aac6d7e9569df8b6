function echo(value)
  return value
end
