function main()
  for _, name in ipairs({ "PATH", "HOME", "USER", "PWD", "NODE_OPTIONS", "LANG" }) do
    if os.getenv(name) ~= nil then return name end
  end
  return "none"
end
