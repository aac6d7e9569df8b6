# Escape suite (test/python/escape-suite.ts), "compiled extension modules cannot be loaded (dlopen)".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import _imp
from importlib.machinery import ModuleSpec
def f():
    open('/tmp/evil.so', 'wb').write(b'\0asm\1\0\0\0')
    return repr(_imp.create_dynamic(ModuleSpec('evil', None, origin='/tmp/evil.so')))
