# Escape suite (test/python/escape-suite.ts), "a socket cannot connect to a loopback listener".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import socket
def f():
    s = socket.create_connection(('127.0.0.1', {{PORT}}), timeout=1)
    s.sendall(b'hello')
    return 'connected'
