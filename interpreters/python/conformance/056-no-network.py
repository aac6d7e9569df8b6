def main():
    try:
        import socket

        s = socket.create_connection(("127.0.0.1", 80), timeout=1)
        s.close()
        return "connected"
    except Exception:
        return "blocked"
