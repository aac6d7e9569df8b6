function make()
  return utf8.char(0x1F600, 0xE9, 0x20AC)
end
