# Escape suite (test/python/escape-suite.ts), "pyodide.ffi is unreachable".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
def f():
    from pyodide.ffi import to_js, create_proxy
    return str(to_js({}))
