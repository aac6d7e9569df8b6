# Escape suite (test/python/escape-suite.ts), "a builtin set in one call is gone in the next" (the next call).
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import builtins, json
def f():
    return [hasattr(builtins, 'polyeval_marker'), hasattr(json, 'marker')]
