# Escape suite (test/python/escape-suite.ts), "_imp.create_builtin cannot rebuild _ctypes (or the test modules)".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import _imp
from importlib.machinery import ModuleSpec
def f():
    out = {}
    for name in ('_ctypes', '_testcapi', '_testinternalcapi', '_posixsubprocess'):
        try:
            out[name] = repr(_imp.create_builtin(ModuleSpec(name, None)))
        except BaseException as e:
            out[name] = type(e).__name__
    return out
