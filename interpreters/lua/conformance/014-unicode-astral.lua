-- Lua strings are bytes: utf8.len counts code points.
function measure(s)
  return { s, utf8.len(s) }
end
