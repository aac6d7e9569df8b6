# Escape suite (test/python/escape-suite.ts), "os.popen is refused".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import os
def f():
    return os.popen('cat {{SECRET_FILE}}').read()
