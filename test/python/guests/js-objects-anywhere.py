# Escape suite (test/python/escape-suite.ts), "sys.modules, class hierarchies and module globals give no JS object".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import sys
def f():
    found = []
    def grab(obj, where):
        t = type(obj).__name__
        if 'Js' in t and t not in ('JsNull',):
            for attr in ('process', 'constructor', 'require', '_api', 'mountNodeFS', 'FS', 'globalThis'):
                try:
                    v = getattr(obj, attr)
                    found.append(f"{where}.{attr}={str(v)[:200]}")
                except Exception:
                    pass
    for name, m in list(sys.modules.items()):
        for k, v in list(getattr(m, '__dict__', {}).items()):
            grab(v, f"{name}.{k}")
    def walk(cls, acc):
        try:
            subs = cls.__subclasses__()
        except TypeError:
            subs = type.__subclasses__(cls)
        for s in subs:
            if s not in acc:
                acc.add(s)
                walk(s, acc)
        return acc
    for c in walk(object, set()):
        for k, v in list(vars(c).items()):
            for holder in (v, getattr(v, '__func__', None)):
                try:
                    g = holder.__globals__
                except Exception:
                    continue
                for gk, gv in list(g.items()):
                    grab(gv, f"{c.__qualname__}.{k}.{gk}")
                for cell in (getattr(holder, '__closure__', None) or ()):
                    try:
                        grab(cell.cell_contents, f"{c.__qualname__}.{k}.<closure>")
                    except ValueError:
                        pass
    return found
