function main()
  return os.time() > 1577836800 and tonumber(os.date("!%Y")) >= 2020
end
