# Calls to other Wikifunctions functions (reentrance): `W`, as the 2023 reference executor put it in
# an implementation's globals (executors/python3/wikifunctions.py): W.Call("Z801", Z801K1=value).
# Appended to harness.py (snapshot.ts, harnessSource) and loaded with it as the module _polyeval, so
# it uses the harness's codec: arguments are encoded as results are (_ZEncoder) and the value comes
# back decoded exactly like an argument (_zobject_decoder).
#
# The door is the device /dev/wikifunctions (call-out.ts): one write of "<ZID>\n<arguments>", then
# reads of "<status><text>" until end of file. The guest can use the device without W; W only
# checks that what it opens is that device (st_rdev), so that a file put in its place is never
# written to.

import stat as _stat

_CALL_OUT_DEVICE = "/dev/wikifunctions"
# FS.makedev(CALL_OUT_MAJOR, 0) in call-out.ts.
_CALL_OUT_RDEV = 240 << 8


class WikifunctionsError(Exception):
    """A call to another function failed; the guest may catch it."""


WikifunctionsError.__module__ = "builtins"


def _make_call_out():
    # Bound now (when the snapshot is built): rebinding os.open later does not redirect W.
    os_open, os_write, os_read, os_close, os_fstat = os.open, os.write, os.read, os.close, os.fstat
    is_chr = _stat.S_ISCHR
    flags = os.O_RDWR
    device = _CALL_OUT_DEVICE
    rdev = _CALL_OUT_RDEV
    error = WikifunctionsError

    def call_out(request):
        fd = os_open(device, flags)
        try:
            info = os_fstat(fd)
            if not is_chr(info.st_mode) or info.st_rdev != rdev:
                raise error(f"Cannot call another function: {device} is not the call-out device")
            os_write(fd, request)
            chunks = []
            while True:
                chunk = os_read(fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os_close(fd)

    return call_out


_call_out = _make_call_out()


class Wikifunctions:
    """`W` in the guest's namespace: W.Call(zid, **arguments) evaluates another function."""

    __slots__ = ("_limit",)

    def __init__(self, limit):
        self._limit = limit

    def Call(self, function_zid, **kwargs):
        if not isinstance(function_zid, str):
            raise TypeError('W.Call: the function must be a ZID string such as "Z801"')
        zid = str.__str__(function_zid)
        encoder = _ZEncoder(self._limit)
        args = {}
        try:
            for key, value in kwargs.items():
                args[key] = encoder.encode(value, [key], 0)
        except _TooLarge:
            raise WikifunctionsError(
                f"Cannot call {zid[:40]}: its arguments are larger than the output limit of {self._limit} bytes"
            ) from None
        except _Invalid as exc:
            why = str(exc).replace("the result", "the argument")
            raise TypeError(f"W.Call({zid[:40]}): cannot pass the arguments: {why}") from None
        request = zid + "\n" + json.dumps(args, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        answer = _call_out(request.encode("utf-8"))
        status, body = answer[:1], answer[1:].decode("utf-8", "replace")
        if status == b"v":
            try:
                return _zobject_decoder.decode(body)
            except (ValueError, RecursionError, _BadArgument) as exc:
                raise WikifunctionsError(f"Cannot read the value {zid[:40]} returned: {exc}") from None
        if status == b"t":
            # The deadline passed while the call waited: the call is over (call-out.ts says so too).
            raise KeyboardInterrupt()
        raise WikifunctionsError(body)


Wikifunctions.__module__ = "builtins"


def reentrance_names(output_limit):
    """What a "zobject" call's namespace gets: W, and the exception its calls raise."""
    return {"W": Wikifunctions(output_limit), "WikifunctionsError": WikifunctionsError}
