local function down(n)
  return down(n + 1) + 1
end

function main()
  return down(0)
end
