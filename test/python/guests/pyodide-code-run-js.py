# Escape suite (test/python/escape-suite.ts), "pyodide.code.run_js is unreachable".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
def f():
    from pyodide.code import run_js
    return run_js('process.env')
