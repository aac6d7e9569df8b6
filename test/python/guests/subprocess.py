# Escape suite (test/python/escape-suite.ts), "subprocess is refused".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import subprocess
def f():
    return subprocess.check_output(['cat', '{{SECRET_FILE}}']).decode()
