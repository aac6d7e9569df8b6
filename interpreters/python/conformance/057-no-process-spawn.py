import os


def main():
    try:
        if os.system("echo spawned") == 0:
            return "os.system"
    except Exception:
        pass
    try:
        import subprocess

        return subprocess.run(["echo", "spawned"], capture_output=True).stdout.decode()
    except Exception:
        pass
    return "blocked"
