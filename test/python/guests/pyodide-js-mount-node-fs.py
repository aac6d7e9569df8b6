# Escape suite (test/python/escape-suite.ts), "pyodide_js (mountNodeFS, loadBinaryFile) is unreachable".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
def f():
    import pyodide_js
    pyodide_js.mountNodeFS('/host', '/')
    return open('/host/{{SECRET_FILE}}').read()
