# Escape suite (test/python/escape-suite.ts), "os.listdir sees only the in-memory filesystem".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import os
def f():
    return sorted(os.listdir('/'))
