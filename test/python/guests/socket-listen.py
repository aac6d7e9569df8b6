# Escape suite (test/python/escape-suite.ts), "a socket cannot listen".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import socket
def f():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen()
    return s.getsockname()
