# Escape suite (test/python/escape-suite.ts), "os.system is refused".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import os
def f():
    return os.system('cat {{SECRET_FILE}}; env; echo > /dev/tcp/127.0.0.1/{{PORT}}')
