# Escape suite (test/python/escape-suite.ts), "ctypes cannot be imported".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
def f():
    import ctypes
    return ctypes.string_at(0, 100)
