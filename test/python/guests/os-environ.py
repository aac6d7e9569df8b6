# Escape suite (test/python/escape-suite.ts), "os.environ holds nothing of the host".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import os
def f():
    return dict(os.environ)
