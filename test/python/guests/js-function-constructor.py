# Escape suite (test/python/escape-suite.ts), "a JS function reached by any route cannot generate code".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
def f():
    import sys
    out = []
    for m in list(sys.modules.values()):
        for v in list(getattr(m, '__dict__', {}).values()):
            ctor = getattr(v, 'constructor', None)
            if ctor is not None and 'Function' in str(ctor):
                try:
                    out.append(str(ctor('return process.env')()))
                except Exception as e:
                    out.append(type(e).__name__)
    return out
