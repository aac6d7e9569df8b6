# Escape suite (test/python/escape-suite.ts), "js.fetch is unreachable".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
def f():
    import js
    return str(js.fetch('http://127.0.0.1:{{PORT}}/'))
