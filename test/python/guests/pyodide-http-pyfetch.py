# Escape suite (test/python/escape-suite.ts), "pyodide.http.pyfetch is unreachable".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
async def f():
    from pyodide.http import pyfetch
    r = await pyfetch('http://127.0.0.1:{{PORT}}/')
    return await r.string()
