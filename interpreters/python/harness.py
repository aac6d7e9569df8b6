# The Python side of the sandbox: the lockdown and the call runner. It is loaded once, when the
# memory snapshot is built (build-snapshot.ts), and `lockdown()` runs then, so every interpreter
# restored from the snapshot starts with it; after a restore `fresh()` reseeds `random` and seals
# what Pyodide needed while restoring (its bridge modules, the audit hook), then `run_call()` runs
# the one call.
#
# The lockdown is defence in depth, not the boundary (see README.md): the WASM imports for
# system(), dlopen() and sockets are refused in JavaScript, dangerous builtin modules are removed
# from CPython's inittab, the Pyodide API objects are blanked after boot, and the whole thing runs
# in a single-use worker of a process under Node's permission model in its own network namespace.

import builtins
import json
import math
import os
import random
import sys
import time
import traceback
import types
from collections.abc import Iterator

USER_FILE = "<code>"
PY_VERSION = sys.version.split()[0]

# Builtin (statically linked) extension modules removed from CPython's inittab by the snapshot
# builder, so that not even _imp.create_builtin can instantiate them.
INITTAB_REMOVED = (
    # Pyodide's own core, already initialised by the time the builder removes it: a second copy
    # made through importlib._bootstrap._load (which skips the import blocker and its audit
    # event) handed out JsProxy objects and, through a JS error's constructor chain, the worker's
    # globalThis (test/security, py-pyodide-core-to-*).
    "_pyodide_core",
    "_ctypes",
    "_testcapi",
    "_testinternalcapi",
    "_testlimitedcapi",
    "_testbuffer",
    "_testclinic",
    "_testclinic_limited",
    "_xxtestfuzz",
    "_remote_debugging",
    "_posixsubprocess",
    "xxsubtype",
)

# Top-level modules that must never be imported by guest code: the JavaScript bridge, Pyodide's
# own API, foreign-function interfaces and CPython's memory-unsafe test modules.
# Everything removed from the inittab, and modules the inittab does not hold (Python, JS-backed or
# shared-library modules): all refused by the import blocker and the audit hook.
BLOCKED_MODULES = frozenset(INITTAB_REMOVED) | frozenset(
    {
        "js",
        "pyodide_js",
        "pyodide",
        "_pyodide",
        "micropip",
        "ctypes",
        "_testmultiphase",
        "_testsinglephase",
        "_ssl",
    }
)

# Audit events refused outright. Prefix match on the part before the first dot is not used: each
# name is exact, except for the families listed in BLOCKED_EVENT_PREFIXES.
BLOCKED_EVENTS = frozenset(
    {
        "os.system",
        "os.posix_spawn",
        "os.fork",
        "os.forkpty",
        "os.kill",
        "os.killpg",
        "os.add_dll_directory",
        "os.startfile",
        "subprocess.Popen",
        "pty.spawn",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "code.__new__",
        "sys._current_frames",
        "sys._current_exceptions",
        "sys.remote_exec",
        "sys.setprofile",
        "sys.settrace",
        "sys._setprofileallthreads",
        "sys._settraceallthreads",
        "webbrowser.open",
        "ftplib.connect",
        "smtplib.connect",
        "urllib.Request",
        "http.client.connect",
        "telnetlib.Telnet.open",
        "imaplib.open",
        "poplib.connect",
        "nntplib.connect",
    }
)
BLOCKED_EVENT_PREFIXES = ("ctypes.", "socket.", "os.exec", "os.spawn", "_posixsubprocess.")

_REASON = "not available in this sandbox"
MAX_RECURSION_LIMIT = 100_000


def _top(name):
    return name.partition(".")[0]



def _make_audit_hook():
    # Everything the hook uses is bound in its closure, so that rebinding names in this module (which
    # a guest can reach through frames) does not change what the hook blocks.
    blocked_modules = BLOCKED_MODULES
    blocked_events = BLOCKED_EVENTS
    blocked_prefixes = BLOCKED_EVENT_PREFIXES
    reason = _REASON
    frame_module = sys._getframemodulename
    function_type = types.FunctionType
    not_found = ModuleNotFoundError
    denied = PermissionError

    def audit(event, args):
        if event == "import":
            name = args[0]
            if name.partition(".")[0] in blocked_modules:
                raise not_found(f"No module named '{name}' ({reason})", name=name)
            return
        if event == "object.__getattr__":
            # Module globals of the interpreter's own functions hold what is left of the JS bridge;
            # the guest's own functions are theirs to inspect.
            target, attribute = args
            if attribute == "__globals__" and type(target) is function_type and target.__module__ != "__user__":
                raise denied(f"reading __globals__ of {target.__module__}.{target.__qualname__} is {reason}")
            return
        if event in blocked_events or event.startswith(blocked_prefixes):
            raise denied(f"{event} is {reason}")
        if event == "marshal.loads" or event == "marshal.load":
            # The import system unmarshals the standard library's byte code; nobody else may build
            # code objects from bytes (crafted byte code can corrupt memory).
            caller = frame_module(2) or ""
            if caller not in ("zipimport", "importlib._bootstrap_external"):
                raise denied(f"{event} is {reason}")

    return audit


class _BlockedFinder:
    """First on sys.meta_path: refuses blocked modules with a message that names them."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if _top(name) in BLOCKED_MODULES:
            raise ModuleNotFoundError(f"No module named '{name}' ({_REASON})", name=name)
        return None

    @staticmethod
    def invalidate_caches():
        pass


def _refuse_dynamic(*args, **kwargs):
    raise ImportError(f"loading compiled extension modules is {_REASON}")


def _unavailable(name):
    def refuse(*args, **kwargs):
        raise PermissionError(f"os.{name} is {_REASON}")

    refuse.__name__ = name
    return refuse


def lockdown():
    """Runs once before the snapshot is taken: whatever survives a restore."""
    import _imp

    _imp.create_dynamic = _refuse_dynamic
    _imp.exec_dynamic = _refuse_dynamic
    for name in (
        "system",
        "popen",
        "fork",
        "forkpty",
        "kill",
        "killpg",
        "posix_spawn",
        "posix_spawnp",
        "execv",
        "execve",
        "execl",
        "execle",
        "execlp",
        "execlpe",
        "execvp",
        "execvpe",
        "spawnl",
        "spawnle",
        "spawnlp",
        "spawnlpe",
        "spawnv",
        "spawnve",
        "spawnvp",
        "spawnvpe",
    ):
        for module in (os, sys.modules.get("posix")):
            if module is not None and hasattr(module, name):
                setattr(module, name, _unavailable(name))
    # Lossless integers both ways: the limits on time and output bound the cost instead.
    sys.set_int_max_str_digits(0)
    # Past ~100 000 frames the worker's native stack (32 MiB) overflows before CPython notices, and
    # that ends the interpreter; clamped, deep recursion is an ordinary, catchable RecursionError.
    set_limit = sys.setrecursionlimit

    def setrecursionlimit(limit, /):
        set_limit(min(int(limit), MAX_RECURSION_LIMIT))

    setrecursionlimit.__doc__ = set_limit.__doc__
    sys.setrecursionlimit = setrecursionlimit


def fresh():
    """Runs once in every restored interpreter, after Pyodide finished booting and before any guest
    code: new PRNG state (restored instances share the snapshot's), then the seal."""
    random.seed(os.urandom(32))
    # Emscripten puts the builder's script path in `_`; nothing of the host belongs in the guest.
    os.environ.pop("_", None)
    # Line-buffered output reaches the host as it is printed, so a call stopped at its deadline
    # still returns what it printed.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except Exception:
            pass
    global _SandboxEventLoop
    _SandboxEventLoop = _sandbox_asyncio()
    _seal()


def _seal():
    # Pyodide re-imports its bridge modules while it restores, so they can only go now. Drop its
    # finders (JsFinder serves `js` and `pyodide_js`) and every loaded module of the bridge; what the
    # JS side of the bridge holds is blanked in JavaScript right after this.
    sys.meta_path[:] = [f for f in sys.meta_path if _top(getattr(type(f), "__module__", "")) not in BLOCKED_MODULES]
    sys.meta_path.insert(0, _BlockedFinder)
    bridge_types = ("pyodide.ffi", "_pyodide_core", "pyodide", "builtins")
    for name in list(sys.modules):
        if _top(name) in BLOCKED_MODULES or name == "_polyeval":
            module = sys.modules.pop(name)
            # Module globals stay reachable from their functions (`f.__globals__`): blank every JS
            # object they hold, and the JS finder's table of JS modules.
            for key, value in list(getattr(module, "__dict__", {}).items()):
                if key in ("jsfinder",):
                    getattr(value, "jsproxies", {}).clear()
                kind = type(value)
                if kind.__name__.startswith("Js") and kind.__module__ in bridge_types and not isinstance(value, type):
                    if kind.__name__ != "JsNull":
                        setattr(module, key, None)
    # An audit hook cannot be removed once added: imports of blocked modules (however they are
    # attempted), process, socket and FFI events, and heap introspection all stop here.
    sys.addaudithook(_make_audit_hook())


# --- Calls -------------------------------------------------------------------------------------


class _Invalid(Exception):
    pass


def _to_json_value(value, path, depth):
    if depth > 2000:
        raise _Invalid("the result is nested more than 2000 levels deep")
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise _Invalid(f"{_where(path)}is {value!r}, which JSON cannot carry")
        return float(value)
    if isinstance(value, (list, tuple)):
        key = id(value)
        if key in _on_path:
            raise _Invalid(f"{_where(path)}contains a reference to itself")
        _on_path.add(key)
        try:
            return [_to_json_value(item, path + [i], depth + 1) for i, item in enumerate(value)]
        finally:
            _on_path.discard(key)
    if isinstance(value, dict):
        key = id(value)
        if key in _on_path:
            raise _Invalid(f"{_where(path)}contains a reference to itself")
        _on_path.add(key)
        try:
            out = {}
            for k, v in value.items():
                if not isinstance(k, str):
                    raise _Invalid(f"{_where(path)}has a key of type {_type_name(k)} (JSON object keys are strings)")
                out[str(k)] = _to_json_value(v, path + [k], depth + 1)
            return out
        finally:
            _on_path.discard(key)
    raise _Invalid(f"{_where(path)}is of type {_type_name(value)}, which JSON cannot carry")


_on_path = set()


# --- The "zobject" codec (Wikifunctions) --------------------------------------------------------
# Arguments arrive as JSON in which single-key objects with a NUL-led key stand for native values
# (src/wikifunctions/codec.ts): {"\u0000pair": [K1, K2]} → ZPair, {"\u0000map": [[k, v], ...]} →
# dict, {"\u0000zobject": {"Z1K1": ..., key: value, ...}} → ZObject; integers (whatever their size)
# → int. Results go back the same way, as tagged JSON (src/executor/json-value.ts): an int is the
# string "\u0000n<digits>" and a str that starts with NUL gets one more in front, so that the host
# (executor.ts) can tell the integer 5 (a bigint, for the integer types) from the float 5.0.

_NUL = "\x00"
_PAIR_TAG = "\x00pair"
_MAP_TAG = "\x00map"
_ZOBJECT_TAG = "\x00zobject"


def _freeze(value):
    # Hashable stand-in for the raw JSON a ZObject may hold (its Z1K1 as a dict, lists).
    if isinstance(value, dict):
        return frozenset((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


class ZPair:
    """A Z882 pair: ZPair(K1, K2). Compares and hashes by value, so pairs can be dict keys. An
    optional third argument (the reference executor's original Z1K1) is accepted and ignored."""

    __slots__ = ("_K1", "_K2")

    def __init__(self, K1, K2, Z1K1=None):
        self._K1 = K1
        self._K2 = K2

    @property
    def K1(self):
        return self._K1

    @property
    def K2(self):
        return self._K2

    def items(self):
        return iter((("K1", self._K1), ("K2", self._K2)))

    def __eq__(self, other):
        if isinstance(other, ZPair):
            return self._K1 == other._K1 and self._K2 == other._K2
        return NotImplemented

    def __hash__(self):
        return hash((_PAIR_TAG, _freeze(self._K1), _freeze(self._K2)))

    def __repr__(self):
        return f"ZPair({self._K1!r}, {self._K2!r})"


class ZObject:
    """Any other ZObject: ZObject(Z1K1=None, **keys), keys as attributes in order (x.Z10000K1).
    Z1K1 is raw JSON (a ZID string, or a dict for an inline type). Compares and hashes by value, so
    that ZObjects can be dict keys (do not change one that is a key)."""

    def __init__(self, /, *args, **keys):
        if len(args) > 1:
            raise TypeError(f"ZObject() takes at most 1 positional argument (Z1K1) but {len(args)} were given")
        if args and "Z1K1" in keys:
            raise TypeError("ZObject() got multiple values for Z1K1")
        z1k1 = args[0] if args else keys.pop("Z1K1", None)
        fields = self.__dict__
        fields["Z1K1"] = z1k1
        for key, value in keys.items():
            fields[key] = value

    def keys(self):
        return [k for k, v in self.__dict__.items() if k != "Z1K1" or v is not None]

    def items(self):
        return [(k, v) for k, v in self.__dict__.items() if k != "Z1K1" or v is not None]

    def __getitem__(self, key):
        try:
            return self.__dict__[key]
        except KeyError:
            raise KeyError(key) from None

    def __eq__(self, other):
        if isinstance(other, ZObject):
            return self.__dict__ == other.__dict__
        return NotImplemented

    def __hash__(self):
        return hash((_ZOBJECT_TAG, _freeze(self.__dict__)))

    def __repr__(self):
        return "ZObject(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()) + ")"


# They are the guest's own globals (for a "zobject" call), named as builtins in reprs and errors.
ZPair.__module__ = "builtins"
ZObject.__module__ = "builtins"
ZCLASSES = {"ZPair": ZPair, "ZObject": ZObject}


class _BadArgument(Exception):
    pass


def _revive(obj):
    """json.loads object_hook of the "zobject" codec (called innermost first)."""
    if len(obj) != 1:
        return obj
    ((tag, body),) = obj.items()
    if tag == _PAIR_TAG and type(body) is list and len(body) == 2:
        return ZPair(body[0], body[1])
    if tag == _MAP_TAG and type(body) is list:
        out = {}
        for entry in body:
            if type(entry) is not list or len(entry) != 2:
                raise _BadArgument("a map entry is not a [key, value] pair")
            key, value = entry
            try:
                out[key] = value
            except TypeError:
                raise _BadArgument(
                    f"a map key of type {_type_name(key)} is not hashable, so it cannot be a dict key: {_short_repr(key)}"
                ) from None
        return out
    if tag == _ZOBJECT_TAG and type(body) is dict:
        return ZObject(**body)
    return obj


_zobject_decoder = json.JSONDecoder(object_hook=_revive)
_json_decoder = json.JSONDecoder()


def _short_repr(value, limit=200):
    try:
        text = repr(value)
    except (KeyboardInterrupt, MemoryError):
        raise
    except BaseException:
        text = object.__repr__(value)
    if not isinstance(text, str):
        text = object.__repr__(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _TooLarge(Exception):
    pass


class _ZEncoder:
    """Result → tagged JSON value of the "zobject" codec. Stops as soon as a lower bound of the
    text's size passes the output limit (an endless generator stops there, not at the memory
    limit)."""

    def __init__(self, limit):
        self.limit = limit
        self.size = 0
        self.on_path = set()

    def grow(self, n):
        self.size += n
        if self.size > self.limit:
            raise _TooLarge()

    def enter(self, value, path):
        key = id(value)
        if key in self.on_path:
            raise _Invalid(f"{_where(path)}contains a reference to itself")
        self.on_path.add(key)
        return key

    def encode(self, value, path, depth):
        if depth > 2000:
            raise _Invalid("the result is nested more than 2000 levels deep")
        if value is None or value is True or value is False:
            self.grow(4)
            return value
        if isinstance(value, str):
            text = str.__str__(value)
            self.grow(len(text) + 2)
            return _NUL + text if text.startswith(_NUL) else text
        if isinstance(value, int):
            digits = int.__repr__(value)
            self.grow(len(digits))
            return _NUL + "n" + digits
        if isinstance(value, float):
            if math.isnan(value) or math.isinf(value):
                raise _Invalid(f"{_where(path)}is {value!r}, which JSON cannot carry")
            self.grow(3)
            return float.__float__(value)
        if isinstance(value, ZPair):
            key = self.enter(value, path)
            try:
                self.grow(12)
                pair = [self.encode(value.K1, path + ["K1"], depth + 1), self.encode(value.K2, path + ["K2"], depth + 1)]
                return {_PAIR_TAG: pair}
            finally:
                self.on_path.discard(key)
        if isinstance(value, ZObject):
            key = self.enter(value, path)
            try:
                self.grow(15)
                out = {}
                for k, v in vars(value).items():
                    if k == "Z1K1" and v is None:
                        continue
                    if not isinstance(k, str):
                        raise _Invalid(f"{_where(path)}is a ZObject with a key of type {_type_name(k)}")
                    self.grow(len(k) + 4)
                    out[str(k)] = self.encode(v, path + [k], depth + 1)
                return {_ZOBJECT_TAG: out}
            finally:
                self.on_path.discard(key)
        if isinstance(value, dict):
            key = self.enter(value, path)
            try:
                self.grow(11)
                entries = []
                for k, v in value.items():
                    self.grow(4)
                    entries.append([self.encode(k, path + ["key"], depth + 1), self.encode(v, path + [k], depth + 1)])
                return {_MAP_TAG: entries}
            finally:
                self.on_path.discard(key)
        if isinstance(value, (list, tuple, Iterator)):
            key = self.enter(value, path)
            try:
                self.grow(2)
                items = []
                for i, item in enumerate(value):
                    self.grow(1)
                    items.append(self.encode(item, path + [i], depth + 1))
                return items
            finally:
                self.on_path.discard(key)
        where = "" if not path else " (" + _where(path).strip() + ")"
        raise _Invalid(f"Could not serialize input Python object: {_short_repr(value)}{where}")


def _where(path):
    if not path:
        return "the result "
    return "the result at " + "".join(f"[{p!r}]" for p in path) + " "


def _type_name(value):
    cls = type(value)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", "__main__", "__user__") else f"{module}.{cls.__qualname__}"


def _error(code, message, **extra):
    return {"ok": False, "error": {"code": code, "message": message, **extra}}


MAX_FRAMES = 100


def _user_frames(exc):
    # Only the innermost frames: a RecursionError after a raised recursion limit carries up to a
    # million, and extracting (and looking up the source of) each one would outlast the deadline.
    tb = traceback.TracebackException.from_exception(exc, capture_locals=False, limit=-MAX_FRAMES)
    frames = [f for f in tb.stack if f.filename == USER_FILE]
    return tb, frames


def _runtime_error(exc, action):
    tb, frames = _user_frames(exc)
    tb.stack = traceback.StackSummary.from_list(frames)
    # Chained exceptions keep their own (untrimmed) frames out of the report: only the outermost.
    tb.__cause__ = None
    tb.__context__ = None
    stack = "".join(tb.format()).rstrip("\n")
    message = str(exc)
    error = {
        "code": "RUNTIME_ERROR",
        "message": f"{action}: {_type_name(exc)}{': ' + message if message else ''}",
        "type": _type_name(exc),
        "stack": stack,
    }
    if frames:
        error["line"] = frames[-1].lineno
    return {"ok": False, "error": error}


class _Selector:
    """The event loop's 'I/O': there is none, so waiting means sleeping until the next timer."""

    def select(self, timeout):
        if timeout is None:
            raise RuntimeError("the coroutine is waiting for something that can never happen")
        if timeout > 0:
            time.sleep(timeout)
        return []

    def close(self):
        pass


def _sandbox_asyncio():
    """asyncio and time.sleep without Pyodide's JavaScript-driven versions (they go through JS
    imports, which are closed once the interpreter has booted): a plain event loop whose only 'I/O'
    is waiting for the next timer, and a policy that hands it out, so that asyncio.run and
    new_event_loop work."""
    import asyncio
    from asyncio import events

    class SandboxEventLoop(asyncio.BaseEventLoop):
        def __init__(self):
            super().__init__()
            self._selector = _Selector()

        def _process_events(self, event_list):
            pass

        def _write_to_self(self):
            pass

    class SandboxEventLoopPolicy(events._BaseDefaultEventLoopPolicy):
        _loop_factory = SandboxEventLoop

    events._set_event_loop_policy(SandboxEventLoopPolicy())
    # Pyodide's wrappers of asyncio.run and time.sleep ask JavaScript first (pyodide_js._api, the
    # JSPI check); the originals need nothing but the clock.
    asyncio.run = asyncio.runners.run
    sleep = getattr(time.sleep, "__wrapped__", None)
    if type(sleep).__name__ == "builtin_function_or_method":
        time.sleep = sleep
    # Pyodide marks its own loop as running; nothing runs it here.
    events._set_running_loop(None)
    return SandboxEventLoop


_SandboxEventLoop = None


def _run_coroutine(coro):
    import asyncio

    loop = (_SandboxEventLoop or _sandbox_asyncio())()
    # Pyodide marks its own (JavaScript-driven) loop as running; ours runs in its place.
    previous = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            loop.close()
        except Exception:
            pass
        asyncio.events._set_running_loop(previous)


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def run_call(code, name, args_json, output_limit, codec="json"):
    """Runs one call; returns the outcome as JSON text (never raises for guest behaviour). `codec`
    is "json" (plain JSON values) or "zobject" (the Wikifunctions codec, see ZPair above)."""
    try:
        outcome = _run(code, name, args_json, output_limit, codec == "zobject")
    except KeyboardInterrupt:
        outcome = _error("TIMEOUT", f'Cannot run "{name}": time limit exceeded')
    except MemoryError:
        outcome = _error("MEMORY_LIMIT", f'Cannot run "{name}": memory limit exceeded (MemoryError)')
    finally:
        _flush()
    try:
        return json.dumps(outcome)
    except MemoryError:
        return json.dumps(_error("MEMORY_LIMIT", f'Cannot run "{name}": memory limit exceeded (MemoryError)'))


def _run(code, name, args_json, output_limit, zobject):
    import linecache

    try:
        compiled = compile(code, USER_FILE, "exec", dont_inherit=True)
    except SyntaxError as exc:
        error = {
            "code": "SYNTAX_ERROR",
            "message": f"Cannot compile the code: {type(exc).__name__}: {exc.msg} (line {exc.lineno})",
            "type": type(exc).__name__,
        }
        if exc.lineno is not None:
            error["line"] = exc.lineno
        if exc.offset is not None:
            error["column"] = exc.offset
        return {"ok": False, "error": error}
    except (ValueError, OverflowError, RecursionError) as exc:
        return _error("SYNTAX_ERROR", f"Cannot compile the code: {type(exc).__name__}: {exc}", type=type(exc).__name__)
    lines = code.splitlines(keepends=True)
    linecache.cache[USER_FILE] = (len(code), None, lines, USER_FILE)

    namespace = {"__name__": "__user__", "__builtins__": builtins}
    if zobject:
        namespace.update(ZCLASSES)
        # W.Call, other functions (wikifunctions.py, appended to this file).
        namespace.update(reentrance_names(output_limit))
    try:
        exec(compiled, namespace)
    except (KeyboardInterrupt, MemoryError):
        raise
    except BaseException as exc:
        return _runtime_error(exc, "Cannot load the code")

    fn = namespace.get(name)
    if fn is None or not callable(fn):
        defined = sorted(k for k, v in namespace.items() if callable(v) and not k.startswith("__"))
        hint = f" (it defines: {', '.join(defined[:20])})" if defined else ""
        what = "does not define it" if fn is None else f"defines it as a {_type_name(fn)}, not a function"
        return _error("ENTRY_NOT_FOUND", f'Cannot find function "{name}": the code {what}{hint}')

    try:
        args = (_zobject_decoder if zobject else _json_decoder).decode(args_json)
    except (ValueError, RecursionError, _BadArgument) as exc:
        return _error("INVALID_ARGUMENT", f'Cannot pass the arguments to "{name}": {exc}')

    try:
        result = fn(*args)
        if isinstance(result, types.CoroutineType):
            result = _run_coroutine(result)
    except (KeyboardInterrupt, MemoryError):
        raise
    except BaseException as exc:
        return _runtime_error(exc, f'Cannot run "{name}"')

    try:
        if zobject:
            value = _ZEncoder(output_limit).encode(result, [], 0)
        else:
            value = _to_json_value(result, [], 0)
    except _Invalid as exc:
        if zobject and str(exc).startswith("Could not serialize"):
            # The reference evaluator's own words, which Wikifunctions users know.
            return _error("INVALID_RESULT", str(exc))
        return _error("INVALID_RESULT", f'Cannot return from "{name}": {exc}')
    except RecursionError:
        return _error("INVALID_RESULT", f'Cannot return from "{name}": the result is nested too deeply')
    except _TooLarge:
        return _too_large(name, output_limit)
    except (KeyboardInterrupt, MemoryError):
        raise
    except BaseException as exc:
        # User code that runs while the result is read: a generator's body, a subclass's __iter__.
        return _runtime_error(exc, f'Cannot run "{name}"')
    finally:
        _on_path.clear()
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError) as exc:
        return _error("INVALID_RESULT", f'Cannot return from "{name}": {exc}')
    # Characters first: a result over the limit is refused without encoding (copying) it.
    if len(text) > output_limit:
        return _too_large(name, output_limit)
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        # A lone surrogate: valid in a str and in JSON as an escape, not in UTF-8. Escaped, the text
        # is plain ASCII and JSON.parse gives the same lone surrogate back on the other side.
        text = json.dumps(value, allow_nan=False, ensure_ascii=True, separators=(",", ":"))
        size = len(text)
    if size > output_limit:
        return _too_large(name, output_limit)
    return {"ok": True, "valueJson": text}


def _too_large(name, output_limit):
    return _error(
        "OUTPUT_LIMIT",
        f'Cannot return from "{name}": the result is larger than the output limit of {output_limit} bytes',
    )
