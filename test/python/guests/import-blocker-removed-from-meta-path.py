# Escape suite (test/python/escape-suite.ts), "removing the import blocker from sys.meta_path does not help".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import sys
def f():
    sys.meta_path[:] = [m for m in sys.meta_path if 'Blocked' not in repr(m)]
    import js
    return str(js.process.env)
