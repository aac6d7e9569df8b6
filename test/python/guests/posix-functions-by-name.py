# Escape suite (test/python/escape-suite.ts), "posix.system kept by reference before the lockdown is refused too".
# {{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} are replaced by the harness before the call.
import posix
def f():
    out = {}
    for name, args in (('system', ('cat {{SECRET_FILE}}',)), ('fork', ()),
                       ('execv', ('/bin/cat', ['cat', '{{SECRET_FILE}}'])),
                       ('posix_spawn', ('/bin/cat', ['cat', '{{SECRET_FILE}}'], {}))):
        try:
            out[name] = repr(getattr(posix, name)(*args))
        except BaseException as e:
            out[name] = type(e).__name__ + ': ' + str(e)
    return out
