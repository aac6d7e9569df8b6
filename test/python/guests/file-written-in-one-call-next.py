# Escape suite (test/python/escape-suite.ts), "a file written in one call is gone in the next" (the next call).
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import os
def f():
    return os.path.exists('/tmp/persist.txt')
