function main(x)
  return x.field.inner
end
