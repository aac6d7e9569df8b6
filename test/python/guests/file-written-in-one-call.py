# Escape suite (test/python/escape-suite.ts), "a file written in one call is gone in the next".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
def f():
    open('/tmp/persist.txt', 'w').write('left behind')
    return 1
