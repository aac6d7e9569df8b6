# Escape suite (test/python/escape-suite.ts), "a builtin set in one call is gone in the next".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import builtins, sys
def f():
    builtins.polyeval_marker = 'left behind'
    sys.modules['json'].marker = 'left behind'
    return 1
