import os


def main():
    for path in ("/etc/passwd", "/proc/self/environ", "/etc/hostname", os.path.expanduser("~/.bashrc")):
        try:
            with open(path, "rb") as f:
                return f.read(200).decode("latin-1")
        except OSError:
            pass
    return "blocked"
