function main()
  local reason = "conformance failure"
  error(reason)
end
