# Escape suite (test/python/escape-suite.ts), "heap introspection (gc) is refused".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import gc
def f():
    return len(gc.get_objects())
