# Emscripten and Pyodide give every interpreter a few synthetic variables (USER=web_user, PATH=/,
# HOME=/home/pyodide, ...): any other name or value would have come from the host.
import os

SYNTHETIC = {
    "USER": {"web_user"},
    "LOGNAME": {"web_user"},
    "PATH": {"/"},
    "PWD": {"/"},
    "HOME": {"/home/web_user", "/home/pyodide"},
    "LANG": {"C.UTF-8"},
    "_": {"./this.program"},
    "PYTHONINSPECT": {"1"},
    "LD_LIBRARY_PATH": {"/usr/lib:/lib/python3.14/site-packages", "/usr/lib:/lib/python3.13/site-packages"},
}


def main():
    for name, value in os.environ.items():
        if value not in SYNTHETIC.get(name, set()):
            return name
    return "none"
