-- pcall catches every Lua error, but the host stops the guest with a JavaScript exception that
-- no pcall sees.
function main()
  while true do
    pcall(function()
      while true do end
    end)
  end
end
