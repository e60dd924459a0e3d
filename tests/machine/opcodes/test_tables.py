"""One hand-written pickle per opcode of protocols 0-5, checked against CPython.

Valid inputs are differential: the same bytes go through ``pickle`` (the C
unpickler) and through emulpickle, and the results must be equal, including
the exact types (``True`` is not ``1``, ``b"a"`` is not ``"a"``). Invalid
inputs (empty stack, wrong operand types, missing MARK, cut arguments,
malformed arguments) must raise an :class:`emulpickle.UnpicklingError`
subclass, never IndexError/KeyError/struct.error/ValueError; each of those
inputs is first checked to be rejected by CPython as well, so the tables
cannot drift into testing valid pickles.
"""

from __future__ import annotations

import copyreg
import io
import math
import pickle
import pickletools
import types
from collections.abc import Callable
from typing import Any

import pytest
from helpers import pickle_bytes as pb

import emulpickle

# --------------------------------------------------------------------------
# reference unpickler and comparison
# --------------------------------------------------------------------------


def ref_loads(
    data: bytes,
    *,
    find_class: Callable[[str, str], Any] | None = None,
    persistent_load: Callable[[Any], Any] | None = None,
    python: bool = False,
    **kwargs: Any,
) -> Any:
    """CPython's own unpickler (C by default) with the same hooks."""
    base = pickle._Unpickler if python else pickle.Unpickler  # type: ignore[attr-defined]
    ns: dict[str, Any] = {}
    if find_class is not None:
        ns["find_class"] = lambda self, module, name: find_class(module, name)
    if persistent_load is not None:
        ns["persistent_load"] = lambda self, pid: persistent_load(pid)
    cls = type("RefUnpickler", (base,), ns)
    return cls(io.BytesIO(data), **kwargs).load()


def cpython_rejects(data: bytes, **kwargs: Any) -> bool:
    """True when the C or the pure-Python CPython unpickler refuses ``data``."""
    for python in (False, True):
        try:
            ref_loads(data, python=python, **kwargs)
        except Exception:
            return True
    return False


def same(a: Any, b: Any) -> bool:
    """Structural equality that also requires identical types everywhere."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (float, complex)):
        return repr(a) == repr(b)  # distinguishes -0.0 and matches nan
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return (
            len(a) == len(b)
            and all(same(x, y) for x, y in zip(a, b, strict=True))
            and all(same(a[k], b[k]) for k in a)
        )
    if isinstance(a, (set, frozenset)):
        return a == b and sorted(map(repr, a)) == sorted(map(repr, b))
    return bool(a == b)


LOADERS = ["loads", "load", "Unpickler"]


def emu_load(how: str, data: bytes, **kwargs: Any) -> Any:
    if how == "loads":
        return emulpickle.loads(data, **kwargs)
    if how == "load":
        return emulpickle.load(io.BytesIO(data), **kwargs)
    return emulpickle.Unpickler(io.BytesIO(data), **kwargs).load()


@pytest.fixture(params=LOADERS)
def how(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# Real classes handed out by a find_class hook, to exercise BUILD/NEWOBJ/
# INST/OBJ with standard pickle semantics on real objects.


class WithDict:
    def __init__(self, *args: Any) -> None:
        self.init_args = args

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __repr__(self) -> str:
        return f"WithDict({vars(self)!r})"


class WithSlots:
    __slots__ = ("x", "y")

    def __eq__(self, other: object) -> bool:
        def state(o: Any) -> dict[str, Any]:
            return {k: getattr(o, k) for k in self.__slots__ if hasattr(o, k)}

        return type(other) is type(self) and state(other) == state(self)

    def __repr__(self) -> str:
        return f"WithSlots({self.x if hasattr(self, 'x') else '-'})"


class Mixed:
    __slots__ = ("__dict__", "x")

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and vars(other) == vars(self)
            and getattr(other, "x", None) == getattr(self, "x", None)
        )


class WithSetstate:
    def __setstate__(self, state: Any) -> None:
        self.got = ("setstate", state)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)


class WithKwNew:
    def __new__(cls, *args: Any, **kwargs: Any) -> WithKwNew:
        self = super().__new__(cls)
        self.new_args = (args, kwargs)
        return self

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)


TEST_CLASSES = {
    c.__name__: c for c in (WithDict, WithSlots, Mixed, WithSetstate, WithKwNew)
}


REAL_BUILTINS = {"int": int, "complex": complex, "list": list, "dict": dict, "set": set}


def hook_find_class(module: str, name: str) -> Any:
    """A find_class hook that hands out real objects (and imports nothing)."""
    if module == "testmod":
        return TEST_CLASSES[name]
    if module == "builtins" and name in REAL_BUILTINS:
        return REAL_BUILTINS[name]
    if module == "types" and name == "SimpleNamespace":
        return types.SimpleNamespace
    raise AssertionError(f"unexpected global {module}.{name}")


def persistent(pid: Any) -> Any:
    return ("pid", pid)


def glob(module: str, name: str) -> bytes:
    return pb.global_(module, name)


def T(name: str) -> bytes:
    """GLOBAL for one of the test classes."""
    return glob("testmod", name)


def S(s: str) -> bytes:
    return pb.short_binunicode(s)


HOOK = {"find_class": hook_find_class}

# --------------------------------------------------------------------------
# valid pickles: one or more per opcode, compared with CPython
# --------------------------------------------------------------------------

V = pytest.param
VALID: list[Any] = [
    # ---- PROTO / STOP
    *[V(pb.pk(pb.NONE, protocol=p), {}, id=f"PROTO-{p}") for p in range(6)],
    V(b"N.", {}, id="STOP-no-proto"),
    V(b"N.trailing garbage", {}, id="STOP-ignores-trailing-bytes"),
    V(b"K\x01K\x02.", {}, id="STOP-returns-top-leaves-rest"),
    # ---- INT
    V(b"I42\n.", {}, id="INT"),
    V(b"I-7\n.", {}, id="INT-negative"),
    V(b"I+5\n.", {}, id="INT-plus"),
    V(b"I0\n.", {}, id="INT-zero-is-int"),
    V(b"I1\n.", {}, id="INT-one-is-int"),
    V(b"I00\n.", {}, id="INT-I00-False"),
    V(b"I01\n.", {}, id="INT-I01-True"),
    V(b"I12345678901234567890\n.", {}, id="INT-big"),
    V(b"I-12345678901234567890\n.", {}, id="INT-big-negative"),
    # ---- LONG
    V(b"L42L\n.", {}, id="LONG-trailing-L"),
    V(b"L-42L\n.", {}, id="LONG-negative"),
    V(b"L0L\n.", {}, id="LONG-zero"),
    V(b"L123456789012345678901234567890L\n.", {}, id="LONG-big"),
    V(b"L42\n.", {}, id="LONG-without-L"),
    # ---- FLOAT
    V(b"F1.5\n.", {}, id="FLOAT"),
    V(b"F-0.0\n.", {}, id="FLOAT-negative-zero"),
    V(b"F0.10000000000000001\n.", {}, id="FLOAT-py2-repr"),
    V(b"F1e100\n.", {}, id="FLOAT-exp"),
    V(b"Finf\n.", {}, id="FLOAT-inf"),
    V(b"F-inf\n.", {}, id="FLOAT-neg-inf"),
    V(b"Fnan\n.", {}, id="FLOAT-nan"),
    V(b"F3\n.", {}, id="FLOAT-integral-text"),
    # ---- STRING (protocol 0 str): quotes, escapes, encodings
    V(b"S'abc'\n.", {}, id="STRING"),
    V(b"S''\n.", {}, id="STRING-empty"),
    V(b'S"it\'s"\n.', {}, id="STRING-double-quoted"),
    V(b"S'a\\nb\\t\\\\c\\''\n.", {}, id="STRING-escapes"),
    V(b"S'\\x41\\102\\0'\n.", {}, id="STRING-hex-octal-escapes"),
    V(b"S'caf\\xe9'\n.", {"encoding": "latin1"}, id="STRING-latin1"),
    V(b"S'caf\\xe9'\n.", {"encoding": "bytes"}, id="STRING-bytes"),
    V(b"S'caf\\xc3\\xa9'\n.", {"encoding": "utf-8"}, id="STRING-utf8"),
    V(b"S'caf\\xe9'\n.", {"errors": "replace"}, id="STRING-ascii-replace"),
    V(b"S'abc'\n.", {"encoding": "bytes"}, id="STRING-ascii-as-bytes"),
    # ---- BINSTRING / SHORT_BINSTRING
    V(pb.binstring(b"abc") + b".", {}, id="BINSTRING"),
    V(pb.binstring(b"") + b".", {}, id="BINSTRING-empty"),
    V(pb.binstring(b"x" * 300) + b".", {}, id="BINSTRING-long"),
    V(pb.binstring(b"caf\xe9") + b".", {"encoding": "latin1"}, id="BINSTRING-latin1"),
    V(pb.binstring(b"caf\xe9") + b".", {"encoding": "bytes"}, id="BINSTRING-bytes"),
    V(pb.short_binstring(b"abc") + b".", {}, id="SHORT_BINSTRING"),
    V(pb.short_binstring(b"") + b".", {}, id="SHORT_BINSTRING-empty"),
    V(
        pb.short_binstring(b"\xff") + b".",
        {"encoding": "latin1"},
        id="SHORT_BINSTRING-latin1",
    ),
    V(
        pb.short_binstring(b"\xff") + b".",
        {"encoding": "bytes"},
        id="SHORT_BINSTRING-bytes",
    ),
    # ---- UNICODE (raw-unicode-escape)
    V(b"Vabc\n.", {}, id="UNICODE"),
    V(b"V\n.", {}, id="UNICODE-empty"),
    V(b"Vcaf\xe9\n.", {}, id="UNICODE-raw-latin1-byte"),
    V(b"V\\u20ac\\U0001f600\n.", {}, id="UNICODE-escapes"),
    V(b"V\\u005c\\u000a\n.", {}, id="UNICODE-escaped-backslash-newline"),
    V(b"Va\\b\n.", {}, id="UNICODE-lone-backslash-is-literal"),
    # ---- BININT / BININT1 / BININT2
    V(pb.binint(0) + b".", {}, id="BININT-0"),
    V(pb.binint(-1) + b".", {}, id="BININT-neg1"),
    V(pb.binint(-(2**31)) + b".", {}, id="BININT-min"),
    V(pb.binint(2**31 - 1) + b".", {}, id="BININT-max"),
    V(b"K\x00.", {}, id="BININT1-0"),
    V(b"K\xff.", {}, id="BININT1-255-unsigned"),
    V(b"M\x00\x01.", {}, id="BININT2-256"),
    V(b"M\xff\xff.", {}, id="BININT2-65535-unsigned"),
    # ---- LONG1 / LONG4
    V(b"\x8a\x00.", {}, id="LONG1-empty-is-0"),
    V(pb.long1(255) + b".", {}, id="LONG1-255"),
    V(pb.long1(-1) + b".", {}, id="LONG1-neg1"),
    V(b"\x8a\x01\x80.", {}, id="LONG1-neg128"),
    V(b"\x8a\x02\x01\x00.", {}, id="LONG1-nonminimal"),
    V(pb.long1(2**64) + b".", {}, id="LONG1-2**64"),
    V(pb.long1(-(2**2000)) + b".", {}, id="LONG1-huge-neg"),
    V(b"\x8b\x00\x00\x00\x00.", {}, id="LONG4-empty-is-0"),
    V(pb.long4(2**100) + b".", {}, id="LONG4-2**100"),
    V(pb.long4(-(2**3000) + 7) + b".", {}, id="LONG4-big-neg"),
    # ---- BINFLOAT
    V(pb.binfloat(1.5) + b".", {}, id="BINFLOAT"),
    V(pb.binfloat(-0.0) + b".", {}, id="BINFLOAT-neg-zero"),
    V(pb.binfloat(math.inf) + b".", {}, id="BINFLOAT-inf"),
    V(pb.binfloat(math.nan) + b".", {}, id="BINFLOAT-nan"),
    V(pb.binfloat(5e-324) + b".", {}, id="BINFLOAT-denormal"),
    # ---- unicode opcodes
    V(pb.binunicode("abc") + b".", {}, id="BINUNICODE"),
    V(pb.binunicode("") + b".", {}, id="BINUNICODE-empty"),
    V(pb.binunicode("caf\xe9\u20ac\U0001f600") + b".", {}, id="BINUNICODE-utf8"),
    V(pb.binunicode("\ud800x\udfff") + b".", {}, id="BINUNICODE-surrogatepass"),
    V(pb.binunicode8("caf\xe9") + b".", {}, id="BINUNICODE8"),
    V(pb.binunicode8("") + b".", {}, id="BINUNICODE8-empty"),
    V(pb.short_binunicode("caf\xe9") + b".", {}, id="SHORT_BINUNICODE"),
    V(pb.short_binunicode("\udc80") + b".", {}, id="SHORT_BINUNICODE-surrogate"),
    # ---- bytes opcodes
    V(pb.binbytes(b"\x00\xff") + b".", {}, id="BINBYTES"),
    V(pb.binbytes(b"") + b".", {}, id="BINBYTES-empty"),
    V(pb.binbytes8(b"\x00\xff") + b".", {}, id="BINBYTES8"),
    V(pb.short_binbytes(b"\x00\xff") + b".", {}, id="SHORT_BINBYTES"),
    V(
        pb.short_binbytes(b"abc") + b".",
        {"encoding": "latin1"},
        id="SHORT_BINBYTES-ignores-encoding",
    ),
    V(pb.bytearray8(b"\x00\xff") + b".", {}, id="BYTEARRAY8"),
    V(pb.bytearray8(b"") + b".", {}, id="BYTEARRAY8-empty"),
    # ---- singletons
    V(b"N.", {}, id="NONE"),
    V(b"\x88.", {}, id="NEWTRUE"),
    V(b"\x89.", {}, id="NEWFALSE"),
    # ---- empty containers
    V(b").", {}, id="EMPTY_TUPLE"),
    V(b"].", {}, id="EMPTY_LIST"),
    V(b"}.", {}, id="EMPTY_DICT"),
    V(b"\x8f.", {}, id="EMPTY_SET"),
    # ---- MARK-based builders
    V(b"(K\x01K\x02t.", {}, id="TUPLE"),
    V(b"(t.", {}, id="TUPLE-empty"),
    V(b"K\x09(K\x01t.", {}, id="TUPLE-below-mark-untouched"),
    V(b"(K\x01(K\x02tt.", {}, id="TUPLE-nested-marks"),
    V(b"(K\x01K\x02l.", {}, id="LIST"),
    V(b"(l.", {}, id="LIST-empty"),
    V(b"(K\x01K\x02d.", {}, id="DICT"),
    V(b"(d.", {}, id="DICT-empty"),
    V(b"(K\x01K\x02K\x01K\x03d.", {}, id="DICT-duplicate-key-last-wins"),
    V(b"(K\x01\x91.", {}, id="FROZENSET"),
    V(b"(\x91.", {}, id="FROZENSET-empty"),
    V(b"(K\x01K\x01K\x02\x91.", {}, id="FROZENSET-duplicates"),
    # ---- TUPLE1/2/3
    V(b"K\x01\x85.", {}, id="TUPLE1"),
    V(b"K\x01K\x02\x86.", {}, id="TUPLE2"),
    V(b"K\x01K\x02K\x03\x87.", {}, id="TUPLE3"),
    # ---- APPEND(S) / SETITEM(S) / ADDITEMS
    V(b"]K\x01a.", {}, id="APPEND"),
    V(b"]K\x01aK\x02a.", {}, id="APPEND-twice"),
    V(b"](K\x01K\x02e.", {}, id="APPENDS"),
    V(b"](e.", {}, id="APPENDS-empty"),
    V(b"}K\x01K\x02s.", {}, id="SETITEM"),
    V(b"}(K\x01K\x02K\x03K\x04u.", {}, id="SETITEMS"),
    V(b"}(u.", {}, id="SETITEMS-empty"),
    V(b"}(K\x01K\x02K\x01K\x05u.", {}, id="SETITEMS-duplicate-key"),
    V(b"\x8f(K\x01K\x02\x90.", {}, id="ADDITEMS"),
    V(b"\x8f(\x90.", {}, id="ADDITEMS-empty"),
    # ---- MARK / POP / POP_MARK / DUP
    V(b"K\x01K\x020.", {}, id="POP"),
    V(b"K\x01(0.", {}, id="POP-pops-mark-when-top"),
    V(b"(0N.", {}, id="POP-mark-on-empty-stack"),
    V(b"K\x01(K\x02K\x031.", {}, id="POP_MARK"),
    V(b"K\x01(1.", {}, id="POP_MARK-empty"),
    V(b"K\x052\x86.", {}, id="DUP"),
    # ---- memo
    V(b"K\x05p0\n0g0\n.", {}, id="PUT-GET"),
    V(b"K\x05p123\n0g123\n.", {}, id="PUT-GET-sparse"),
    V(b"K\x05q\x07K\x06q\x07h\x07.", {}, id="BINPUT-overwrite"),
    V(b"K\x05q\x00h\x00.", {}, id="BINPUT-BINGET"),
    V(b"K\x05r\x00\x01\x00\x00j\x00\x01\x00\x00.", {}, id="LONG_BINPUT-LONG_BINGET"),
    V(b"K\x05q\x00j\x00\x00\x00\x00.", {}, id="BINPUT-LONG_BINGET"),
    V(b"K\x05r\x03\x00\x00\x00h\x03.", {}, id="LONG_BINPUT-BINGET"),
    V(b"K\x05p3\nh\x03.", {}, id="PUT-BINGET"),
    V(b"K\x05\x94h\x00.", {}, id="MEMOIZE"),
    V(b"K\x05\x94K\x06\x94h\x00h\x01\x86.", {}, id="MEMOIZE-twice"),
    V(b"K\x07q\x05K\x08\x94h\x01.", {}, id="MEMOIZE-index-is-memo-count"),
    V(b"K\x01q\x00K\x02q\x00K\x03\x94h\x01.", {}, id="MEMOIZE-after-overwrite"),
    V(
        b"\x80\x04K\x05\x94" + b"\x8c\x01a\x94" + b"j\x00\x00\x00\x00h\x01\x86.",
        {},
        id="MEMOIZE-proto4",
    ),
    # the machine memoizes these objects as it makes them when MEMOIZE follows
    V(b"K\x01\x85\x94h\x00h\x00\x86.", {}, id="MEMOIZE-after-TUPLE1"),
    V(
        b"K\x01K\x02\x86\x94K\x03K\x04\x87\x94h\x00h\x01\x86.",
        {},
        id="MEMOIZE-TUPLE2-3",
    ),
    V(b"(K\x01K\x02t\x94h\x00.", {}, id="MEMOIZE-after-TUPLE"),
    V(b"K\x01q\xffK\x02\x85\x94h\x01h\xff\x86.", {}, id="MEMOIZE-after-TUPLE1-sparse"),
    V(
        b"\x80\x04" + pb.frame(b"K\x01\x85") + pb.frame(b"\x94h\x00."),
        {},
        id="MEMOIZE-after-TUPLE1-next-frame",
    ),
    V(b"\x80\x04K\x01\x85\x94.", {}, id="MEMOIZE-after-TUPLE1-then-STOP"),
    V(
        b"\x80\x04" + S("builtins") + S("int") + b"\x93\x94h\x00S'7'\n\x85R\x94h\x01.",
        {},
        id="MEMOIZE-after-STACK_GLOBAL-REDUCE",
    ),
    V(
        b"\x80\x04" + S("builtins") + S("list") + b"\x93)\x81\x94h\x00.",
        {},
        id="MEMOIZE-after-NEWOBJ",
    ),
    # ---- GLOBAL / STACK_GLOBAL (default registry answers builtin types)
    V(b"cbuiltins\nint\n.", {}, id="GLOBAL-builtins-int"),
    V(b"c__builtin__\nset\n.", {}, id="GLOBAL-py2-name-proto0"),
    V(b"\x80\x02c__builtin__\nxrange\n.", {}, id="GLOBAL-py2-xrange-proto2"),
    V(b"\x80\x02c__builtin__\nunicode\n.", {}, id="GLOBAL-py2-unicode"),
    V(b"\x80\x04" + S("builtins") + S("frozenset") + b"\x93.", {}, id="STACK_GLOBAL"),
    V(
        b"\x80\x04" + S("builtins") + b"\x94" + S("dict") + b"\x94h\x00h\x01\x93.",
        {},
        id="STACK_GLOBAL-memoized-names",
    ),
    V(T("WithDict") + b".", HOOK, id="GLOBAL-find_class-hook"),
    V(
        b"\x80\x04" + S("testmod") + S("WithSlots") + b"\x93.",
        HOOK,
        id="STACK_GLOBAL-find_class-hook",
    ),
    # ---- REDUCE
    V(b"cbuiltins\ncomplex\nK\x01K\x02\x86R.", {}, id="REDUCE-complex"),
    V(b"cbuiltins\nset\n](K\x01K\x02e\x85R.", {}, id="REDUCE-set"),
    V(b"cbuiltins\nfrozenset\n)R.", {}, id="REDUCE-frozenset-empty"),
    V(b"cbuiltins\ntype\nN\x85R.", {}, id="REDUCE-type-None"),
    V(b"cbuiltins\ntype\ncbuiltins\nEllipsis\n\x85R.", {}, id="REDUCE-type-Ellipsis"),
    V(b"cbuiltins\nrange\nK\x00K\x0aK\x02\x87R.", {}, id="REDUCE-range"),
    V(b"cbuiltins\nslice\nK\x01K\x02N\x87R.", {}, id="REDUCE-slice"),
    V(b"cbuiltins\nint\nX\x02\x00\x00\x00ffK\x10\x86R.", {}, id="REDUCE-int-base"),
    V(b"cbuiltins\nbytes\n]K\x01a\x85R.", {}, id="REDUCE-bytes-list"),
    V(b"cbuiltins\nbytearray\nC\x02ab\x85R.", {}, id="REDUCE-bytearray"),
    V(
        b"c_codecs\nencode\nX\x04\x00\x00\x00\xc3\xbfabX\x06\x00\x00\x00latin1\x86R.",
        {},
        id="REDUCE-_codecs.encode",
    ),
    V(
        b"ccopyreg\n__newobj__\ncbuiltins\nint\nK\x05\x86R.",
        {},
        id="REDUCE-copyreg.__newobj__",
    ),
    V(
        b"ccopyreg\n__newobj_ex__\ncbuiltins\ncomplex\n)}X\x04\x00\x00\x00realK\x02s"
        b"\x87R.",
        {},
        id="REDUCE-copyreg.__newobj_ex__",
    ),
    V(
        b"ccopy_reg\n_reconstructor\n(c__builtin__\nlist\nc__builtin__\nlist\n"
        b"(lI1\natR.",
        {},
        id="REDUCE-copy_reg._reconstructor-list",
    ),
    V(T("WithDict") + b"K\x01K\x02\x86R.", HOOK, id="REDUCE-hook-class"),
    # ---- BUILD
    V(T("WithDict") + b")R}X\x01\x00\x00\x00aK\x01sb.", HOOK, id="BUILD-dict-state"),
    V(T("WithDict") + b")RNb.", HOOK, id="BUILD-None-state"),
    V(
        T("WithSlots") + b")\x81N}X\x01\x00\x00\x00xK\x01s\x86b.",
        HOOK,
        id="BUILD-slot-state",
    ),
    V(
        T("Mixed") + b")\x81}X\x01\x00\x00\x00aK\x02s}X\x01\x00\x00\x00xK\x03s\x86b.",
        HOOK,
        id="BUILD-dict-and-slot-state",
    ),
    V(T("WithSetstate") + b")\x81(K\x01K\x02lb.", HOOK, id="BUILD-setstate"),
    V(T("WithSetstate") + b")\x81Nb.", HOOK, id="BUILD-setstate-None"),
    V(
        b"ctypes\nSimpleNamespace\n)\x81}X\x01\x00\x00\x00aK\x01sb.",
        HOOK,
        id="BUILD-SimpleNamespace",
    ),
    # ---- NEWOBJ / NEWOBJ_EX
    V(b"cbuiltins\nint\n)\x81.", {}, id="NEWOBJ-int"),
    V(b"cbuiltins\nint\nK\x05\x85\x81.", {}, id="NEWOBJ-int-arg"),
    V(b"cbuiltins\nlist\n)\x81.", {}, id="NEWOBJ-list"),
    V(T("WithKwNew") + b"K\x01\x85\x81.", HOOK, id="NEWOBJ-hook-class"),
    V(
        b"cbuiltins\ncomplex\n)}X\x04\x00\x00\x00realK\x02s\x92.",
        {},
        id="NEWOBJ_EX-complex",
    ),
    V(
        T("WithKwNew") + b"K\x01\x85}X\x01\x00\x00\x00kK\x02s\x92.",
        HOOK,
        id="NEWOBJ_EX-hook-class",
    ),
    # ---- INST / OBJ
    V(b"(S'5'\nibuiltins\nint\n.", {}, id="INST-int"),
    V(b"(K\x01K\x02ibuiltins\ncomplex\n.", {}, id="INST-complex"),
    V(b"(ibuiltins\nlist\n.", {}, id="INST-no-args-uses-new"),
    V(b"(itestmod\nWithDict\n(S'a'\nI1\ndb.", HOOK, id="INST-hook-then-BUILD"),
    V(b"(K\x01itestmod\nWithDict\n.", HOOK, id="INST-hook-args-calls"),
    V(b"(cbuiltins\ncomplex\nK\x01K\x02o.", {}, id="OBJ-complex"),
    V(b"(cbuiltins\nlist\no.", {}, id="OBJ-no-args"),
    V(b"(" + T("WithDict") + b"o.", HOOK, id="OBJ-hook"),
    V(b"(" + T("WithDict") + b"K\x03o.", HOOK, id="OBJ-hook-args"),
    # ---- PERSID / BINPERSID
    V(b"Pabc\n.", {"persistent_load": persistent}, id="PERSID"),
    V(b"P\n.", {"persistent_load": persistent}, id="PERSID-empty"),
    V(b"K\x05Q.", {"persistent_load": persistent}, id="BINPERSID"),
    V(b"(K\x01S'x'\ntQ.", {"persistent_load": persistent}, id="BINPERSID-tuple"),
    # ---- FRAME
    V(b"\x80\x04" + pb.frame(b"K\x01."), {}, id="FRAME"),
    V(
        b"\x80\x04" + pb.frame(b"](K\x01") + pb.frame(b"K\x02e."),
        {},
        id="FRAME-two-frames",
    ),
    V(b"\x80\x04" + pb.frame(b"](K\x01") + b"K\x02e.", {}, id="FRAME-then-unframed"),
    V(b"\x80\x04" + pb.frame(b"") + b"N.", {}, id="FRAME-empty"),
    # an argument that starts exactly at the end of a frame is read unframed
    V(b"\x80\x04" + pb.frame(b"K") + b"\x01.", {}, id="FRAME-arg-after-frame-end"),
    V(
        b"\x80\x04" + pb.frame(b"]") + pb.frame(b"K\x01a") + pb.frame(b"."),
        {},
        id="FRAME-STOP-in-own-frame",
    ),
]


@pytest.mark.parametrize(("data", "options"), VALID)
def test_valid_matches_cpython(data: bytes, options: dict[str, Any], how: str) -> None:
    expected = ref_loads(data, **options)
    got = emu_load(how, data, **options)
    assert same(got, expected), (got, expected)


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x04K\x01\x85\x94h\x00\x86.",
        b"\x80\x04(K\x01t\x94h\x00\x86.",
        b"\x80\x04" + S("builtins") + S("list") + b"\x93)\x81\x94h\x00\x86.",
        b"\x80\x04" + pb.frame(b"K\x01\x85") + pb.frame(b"\x94h\x00\x86."),
    ],
    ids=["TUPLE1", "TUPLE", "NEWOBJ", "next-frame"],
)
def test_memoized_as_made_is_the_object_got(data: bytes, how: str) -> None:
    """A MEMOIZE the machine folds into the opcode before it memoizes that
    very object, as a separate MEMOIZE does."""
    first, second = emu_load(how, data)
    assert first is second


def test_valid_table_covers_every_opcode() -> None:
    """Every pickletools opcode appears in at least one valid or special case."""
    special = {"EXT1", "EXT2", "EXT4", "NEXT_BUFFER", "READONLY_BUFFER"}
    seen: set[str] = set()
    for param in VALID:
        data = param.values[0]
        try:
            for op, _arg, _pos in pickletools.genops(data):
                seen.add(op.name)
        except Exception:
            pass
    names = {op.name for op in pickletools.opcodes}
    assert names - seen - special == set()


# ---- identity (memo, DUP) and recursion ------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        V(b"]2\x86.", id="DUP"),
        V(b"]p0\ng0\n\x86.", id="PUT-GET"),
        V(b"]q\x01h\x01\x86.", id="BINPUT-BINGET"),
        V(b"]r\x00\x00\x01\x00j\x00\x00\x01\x00\x86.", id="LONG_BINPUT-LONG_BINGET"),
        V(b"]\x94h\x00\x86.", id="MEMOIZE"),
    ],
)
def test_memo_preserves_identity(data: bytes, how: str) -> None:
    a, b = emu_load(how, data)
    assert a == [] and a is b


def test_recursive_list(how: str) -> None:
    got = emu_load(how, b"]q\x00h\x00a.")
    assert isinstance(got, list) and len(got) == 1 and got[0] is got


def test_recursive_dict(how: str) -> None:
    got = emu_load(how, b"\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s.")
    assert got["a"] is got


# ---- EXT1 / EXT2 / EXT4 ------------------------------------------------------

EXT_CODES = {"EXT1": 0xF1, "EXT2": 0xF1F2, "EXT4": 0x7FFFFFF1}


@pytest.fixture
def complex_extensions() -> Any:
    # one (module, name) may have only one code, so use three builtins
    copyreg.add_extension("builtins", "complex", EXT_CODES["EXT1"])
    copyreg.add_extension("builtins", "frozenset", EXT_CODES["EXT2"])
    copyreg.add_extension("builtins", "bytearray", EXT_CODES["EXT4"])
    try:
        yield
    finally:
        copyreg.remove_extension("builtins", "complex", EXT_CODES["EXT1"])
        copyreg.remove_extension("builtins", "frozenset", EXT_CODES["EXT2"])
        copyreg.remove_extension("builtins", "bytearray", EXT_CODES["EXT4"])


@pytest.mark.parametrize(
    "data",
    [
        V(b"\x80\x02\x82\xf1K\x01K\x02\x86R.", id="EXT1"),
        V(b"\x80\x02\x83\xf2\xf1]K\x01a\x85R.", id="EXT2"),
        V(b"\x80\x02\x84\xf1\xff\xff\x7fC\x02ab\x85R.", id="EXT4"),
        V(b"\x80\x02\x84\xf1\x00\x00\x00.", id="EXT4-small-code"),
        V(b"\x80\x02\x82\xf1\x82\xf1\x86.", id="EXT1-twice-cached"),
    ],
)
def test_ext_via_copyreg(data: bytes, how: str, complex_extensions: None) -> None:
    assert same(emu_load(how, data), ref_loads(data))


def test_ext_get_extension_hook(how: str) -> None:
    seen: list[int] = []

    def get_extension(code: int) -> Any:
        seen.append(code)
        return ("ext", code)

    data = b"\x80\x02\x82\x05\x83\x00\x01\x84\x00\x00\x00\x01\x87."
    got = emu_load(how, data, get_extension=get_extension)
    assert got == (("ext", 5), ("ext", 256), ("ext", 1 << 24))
    assert seen == [5, 256, 1 << 24]


def test_ext_code_resolved_through_find_class(
    how: str, complex_extensions: None
) -> None:
    seen: list[tuple[str, str]] = []

    def find_class(module: str, name: str) -> Any:
        seen.append((module, name))
        return ("cls", module, name)

    got = emu_load(how, b"\x80\x02\x82\xf1.", find_class=find_class)
    assert got == ("cls", "builtins", "complex")
    assert seen == [("builtins", "complex")]


# ---- NEXT_BUFFER / READONLY_BUFFER -------------------------------------------


def test_next_buffer_returns_given_buffer(how: str) -> None:
    buf = bytearray(b"abc")
    got = emu_load(how, b"\x80\x05\x97.", buffers=[buf])
    ref = ref_loads(b"\x80\x05\x97.", buffers=[bytearray(b"abc")])
    assert got is buf or bytes(memoryview(got)) == b"abc"
    assert bytes(memoryview(ref)) == bytes(memoryview(got))
    assert not memoryview(got).readonly


def test_next_buffer_several_in_order(how: str) -> None:
    got = emu_load(how, b"\x80\x05\x97\x97\x86.", buffers=[b"one", bytearray(b"two")])
    assert [bytes(memoryview(x)) for x in got] == [b"one", b"two"]


def test_readonly_buffer(how: str) -> None:
    got = emu_load(how, b"\x80\x05\x97\x98.", buffers=[bytearray(b"abc")])
    view = memoryview(got)
    assert view.readonly and bytes(view) == b"abc"
    ref = ref_loads(b"\x80\x05\x97\x98.", buffers=[bytearray(b"abc")])
    assert memoryview(ref).readonly


def test_readonly_buffer_on_readonly_is_noop(how: str) -> None:
    data = b"\x80\x05C\x03abc\x98."
    assert same(emu_load(how, data), ref_loads(data))


def test_next_buffer_hook(how: str) -> None:
    calls: list[int] = []

    def next_buffer() -> Any:
        calls.append(1)
        return b"xyz"

    assert emu_load(how, b"\x80\x05\x97.", next_buffer=next_buffer) == b"xyz"
    assert calls == [1]


def test_make_readonly_hook(how: str) -> None:
    got = emu_load(
        how,
        b"\x80\x05\x97\x98.",
        buffers=[bytearray(b"q")],
        make_readonly=lambda obj: ("ro", bytes(obj)),
    )
    assert got == ("ro", b"q")


def test_buffers_with_in_band_pickle_from_cpython(how: str) -> None:
    pbuf = pickle.PickleBuffer(bytearray(b"payload"))
    bufs: list[Any] = []
    data = pickle.dumps([pbuf, b"x"], protocol=5, buffer_callback=bufs.append)
    got = emu_load(how, data, buffers=[b.raw() for b in bufs])
    assert bytes(memoryview(got[0])) == b"payload" and got[1] == b"x"


# ---- hooks see names after fix_imports mapping ------------------------------


@pytest.mark.parametrize(
    ("data", "options", "expected"),
    [
        V(b"c__builtin__\nset\n.", {}, ("builtins", "set"), id="proto0-mapped"),
        V(
            b"\x80\x02c__builtin__\nxrange\n.",
            {},
            ("builtins", "range"),
            id="proto2-name-mapped",
        ),
        V(
            b"\x80\x02ccopy_reg\n_reconstructor\n.",
            {},
            ("copyreg", "_reconstructor"),
            id="proto2-module-mapped",
        ),
        V(
            b"\x80\x02c__builtin__\nset\n.",
            {"fix_imports": False},
            ("__builtin__", "set"),
            id="fix_imports-off",
        ),
        V(
            b"\x80\x03c__builtin__\nset\n.",
            {},
            ("__builtin__", "set"),
            id="proto3-not-mapped",
        ),
        V(
            b"\x80\x02" + S("__builtin__") + S("set") + b"\x93.",
            {},
            ("builtins", "set"),
            id="STACK_GLOBAL-proto2-mapped",
        ),
    ],
)
def test_find_class_hook_sees_mapped_names(
    data: bytes, options: dict[str, Any], expected: tuple[str, str], how: str
) -> None:
    seen: list[tuple[str, str]] = []

    def find_class(module: str, name: str) -> Any:
        seen.append((module, name))
        return "X"

    assert emu_load(how, data, find_class=find_class, **options) == "X"
    assert seen == [expected]


def test_unknown_generic_global(how: str) -> None:
    got = emu_load(how, b"cfoo.bar\nBaz\n.", unknown="generic")
    assert isinstance(got, emulpickle.GenericClass)
    assert (got.module, got.name) == ("foo.bar", "Baz")


def test_generic_py2_old_style_instance(how: str) -> None:
    # Python 2 pickle.dumps(Foo()) of an old-style class with self.a = 1.
    data = b"(i__main__\nFoo\np0\n(dp1\nS'a'\np2\nI1\nsb."
    got = emu_load(how, data, unknown="generic")
    assert isinstance(got, emulpickle.GenericObject)
    assert (got.cls.module, got.cls.name) == ("__main__", "Foo")
    assert got.state == {"a": 1}


def test_generic_newobj_and_build(how: str) -> None:
    data = b"\x80\x02cmypkg\nThing\nK\x01\x85\x81}X\x01\x00\x00\x00aK\x02sb."
    got = emu_load(how, data, unknown="generic")
    assert isinstance(got, emulpickle.GenericObject)
    assert (got.cls.module, got.cls.name) == ("mypkg", "Thing")
    assert tuple(got.args) == (1,)
    assert got.state == {"a": 2}


# --------------------------------------------------------------------------
# Python 2 pickles, byte for byte as Python 2.7's cPickle writes them
# --------------------------------------------------------------------------

PY2_LONG = 12345678901234567890
PY2_PICKLES = [
    # protocol 0
    V(b"S'abc'\np1\n.", id="p0-str"),
    V(b"S'caf\\xe9'\np1\n.", id="p0-str-nonascii"),
    V(b'S"it\'s"\np1\n.', id="p0-str-quote"),
    V(b"S'a\\nb\\x00'\np1\n.", id="p0-str-escapes"),
    V(b"Vcaf\xe9\\u20ac\np1\n.", id="p0-unicode"),
    V(b"L12345678901234567890L\n.", id="p0-long"),
    V(b"I42\n.", id="p0-int"),
    V(b"I01\n.", id="p0-bool"),
    V(b"F0.10000000000000001\n.", id="p0-float"),
    V(b"(dp1\nS'a'\np2\nI1\nsVb\np3\nL2L\nsS'c'\np4\nS'x\\xff'\np5\ns.", id="p0-dict"),
    V(b"(lp1\nI1\naS'two'\np2\na(I3\nF4.0\ntp3\na.", id="p0-list-tuple"),
    V(b"c__builtin__\nset\np1\n((lp2\nI1\naI2\natRp3\n.", id="p0-set"),
    V(b"(dp1\nS'k'\np2\n(lp3\ng2\nasS'j'\np4\ng3\ns.", id="p0-shared-refs"),
    # protocol 1
    V(b"}q\x01(U\x01aK\x01U\x01bG?\xf8\x00\x00\x00\x00\x00\x00u.", id="p1-dict"),
    V(b"]q\x01(U\x03\xe9t\xe9q\x02X\x02\x00\x00\x00\xc3\xa9q\x03e.", id="p1-list"),
    # protocol 2
    V(b"\x80\x02U\x03abcq\x01.", id="p2-str"),
    V(b"\x80\x02U\x04caf\xe9q\x01.", id="p2-str-nonascii"),
    V(b"\x80\x02T\x00\x01\x00\x00" + b"x" * 256 + b"q\x01.", id="p2-long-str"),
    V(b"\x80\x02X\x05\x00\x00\x00caf\xc3\xa9q\x01.", id="p2-unicode"),
    V(
        b"\x80\x02\x8a\x09" + PY2_LONG.to_bytes(9, "little", signed=True) + b".",
        id="p2-long",
    ),
    V(b"\x80\x02\x8a\x01\x02.", id="p2-small-long"),
    V(b"\x80\x02\x88.", id="p2-true"),
    V(
        b"\x80\x02}q\x01(U\x01aK\x01X\x01\x00\x00\x00b\x8a\x01\x02U\x01cU\x02x\xffu.",
        id="p2-dict",
    ),
    V(
        b"\x80\x02]q\x01(K\x01U\x03twoq\x02K\x03G@\x10\x00\x00\x00\x00\x00\x00\x86q"
        b"\x03e.",
        id="p2-list-tuple",
    ),
    V(b"\x80\x02c__builtin__\nset\nq\x01]q\x02(K\x01K\x02e\x85Rq\x03.", id="p2-set"),
    V(b"\x80\x02c__builtin__\nxrange\nq\x01K\x00K\x05K\x01\x87Rq\x02.", id="p2-xrange"),
    V(
        b"\x80\x02c__builtin__\nfrozenset\nq\x01]q\x02U\x01aq\x03a\x85Rq\x04.",
        id="p2-frozenset",
    ),
]


@pytest.mark.parametrize("encoding", ["latin1", "bytes"])
@pytest.mark.parametrize("data", PY2_PICKLES)
def test_python2_pickles(data: bytes, encoding: str, how: str) -> None:
    expected = ref_loads(data, encoding=encoding)
    got = emu_load(how, data, encoding=encoding)
    assert same(got, expected), (got, expected)


def test_python2_values_spelled_out() -> None:
    d = b"(dp1\nS'a'\np2\nI1\nsVb\np3\nL2L\nsS'c'\np4\nS'x\\xff'\np5\ns."
    assert emulpickle.loads(d, encoding="latin1") == {"a": 1, "b": 2, "c": "x\xff"}
    assert emulpickle.loads(d, encoding="bytes") == {b"a": 1, "b": 2, b"c": b"x\xff"}
    assert emulpickle.loads(b"\x80\x02U\x04caf\xe9q\x01.", encoding="latin1") == "café"
    assert emulpickle.loads(b"S'abc'\np1\n.") == "abc"  # default ASCII
    n = emulpickle.loads(b"L12345678901234567890L\n.")
    assert n == PY2_LONG and type(n) is int


def test_python2_bytearray_latin1(how: str) -> None:
    # Python 2.7 bytearray.__reduce__ -> (bytearray, (u'ab\xff', 'latin-1'), None)
    data = (
        b"\x80\x02c__builtin__\nbytearray\nq\x01X\x04\x00\x00\x00ab\xc3\xbfq\x02"
        b"U\x07latin-1q\x03\x86q\x04Rq\x05."
    )
    got = emu_load(how, data, encoding="latin1")
    assert same(got, ref_loads(data, encoding="latin1"))
    assert got == bytearray(b"ab\xff")


def test_python2_non_ascii_str_default_encoding_fails_cleanly(how: str) -> None:
    data = b"S'caf\\xe9'\np1\n."
    assert cpython_rejects(data)
    with pytest.raises(emulpickle.UnpicklingError):
        emu_load(how, data)


# --------------------------------------------------------------------------
# invalid input: empty stack / wrong operand types
# --------------------------------------------------------------------------

BAD_STACK: list[Any] = [
    V(b".", {}, id="STOP-empty-stack"),
    V(b"K\x01(.", {}, id="STOP-only-below-mark"),
    V(b"0.", {}, id="POP-empty"),
    V(b"2.", {}, id="DUP-empty"),
    V(b"K\x01(2.", {}, id="DUP-hidden-by-mark"),
    V(b"a.", {}, id="APPEND-empty"),
    V(b"K\x01a.", {}, id="APPEND-one-item"),
    V(b"]K\x01(K\x02a.", {}, id="APPEND-list-hidden-by-mark"),
    V(b"K\x01K\x02a.", {}, id="APPEND-onto-int"),
    V(b")K\x01a.", {}, id="APPEND-onto-tuple"),
    V(b"(e.", {}, id="APPENDS-nothing-below-mark"),
    V(b"K\x01(K\x02e.", {}, id="APPENDS-onto-int"),
    V(b"N(K\x02e.", {}, id="APPENDS-onto-None"),
    V(b"s.", {}, id="SETITEM-empty"),
    V(b"}K\x01s.", {}, id="SETITEM-two-items"),
    V(b"K\x01K\x02K\x03s.", {}, id="SETITEM-onto-int"),
    V(b"}]K\x01s.", {}, id="SETITEM-unhashable-key"),
    V(b"]K\x00K\x01s.", {}, id="SETITEM-list-index-out-of-range"),
    V(b"(K\x01K\x02u.", {}, id="SETITEMS-nothing-below-mark"),
    V(b"}(K\x01u.", {}, id="SETITEMS-odd"),
    V(b"K\x01(K\x02K\x03u.", {}, id="SETITEMS-onto-int"),
    V(b"}(]K\x01u.", {}, id="SETITEMS-unhashable-key"),
    V(b"(K\x01\x90.", {}, id="ADDITEMS-nothing-below-mark"),
    V(b"K\x01(K\x02\x90.", {}, id="ADDITEMS-onto-int"),
    V(b"\x8f(]\x90.", {}, id="ADDITEMS-unhashable"),
    V(b"(]\x91.", {}, id="FROZENSET-unhashable"),
    V(b"(]K\x01d.", {}, id="DICT-unhashable-key"),
    V(b"(K\x01d.", {}, id="DICT-odd"),
    V(b"\x85.", {}, id="TUPLE1-empty"),
    V(b"K\x01(\x85.", {}, id="TUPLE1-hidden-by-mark"),
    V(b"K\x01\x86.", {}, id="TUPLE2-one-item"),
    V(b"K\x01K\x02\x87.", {}, id="TUPLE3-two-items"),
    V(b"b.", {}, id="BUILD-empty"),
    V(b"K\x01b.", {}, id="BUILD-one-item"),
    V(b"K\x01(X\x01\x00\x00\x00aK\x02db.", {}, id="BUILD-dict-state-on-int"),
    V(b"]K\x05b.", {}, id="BUILD-int-state-on-list"),
    V(b"R.", {}, id="REDUCE-empty"),
    V(b")R.", {}, id="REDUCE-one-item"),
    V(b"K\x01)R.", {}, id="REDUCE-int-not-callable"),
    V(b"cbuiltins\ncomplex\n]R.", {}, id="REDUCE-args-list"),
    V(b"cbuiltins\ncomplex\nK\x01R.", {}, id="REDUCE-args-int"),
    V(b"cbuiltins\nint\nX\x01\x00\x00\x00x\x85R.", {}, id="REDUCE-emulator-rejects"),
    V(
        b"cbuiltins\ncomplex\nX\x01\x00\x00\x00a\x85}\x86R.",
        {},
        id="REDUCE-complex-bad-arg",
    ),
    V(b"\x81.", {}, id="NEWOBJ-empty"),
    V(b")\x81.", {}, id="NEWOBJ-one-item"),
    V(b"K\x01)\x81.", {}, id="NEWOBJ-cls-int"),
    V(b"cbuiltins\nint\n]\x81.", {}, id="NEWOBJ-args-list"),
    V(b"\x92.", {}, id="NEWOBJ_EX-empty"),
    V(b")}\x92.", {}, id="NEWOBJ_EX-two-items"),
    V(b"K\x01)}\x92.", {}, id="NEWOBJ_EX-cls-int"),
    V(b"cbuiltins\nint\n]}\x92.", {}, id="NEWOBJ_EX-args-list"),
    V(b"cbuiltins\nint\n)K\x01\x92.", {}, id="NEWOBJ_EX-kwargs-int"),
    V(b"\x93.", {}, id="STACK_GLOBAL-empty"),
    V(b"\x8c\x03int\x93.", {}, id="STACK_GLOBAL-one-item"),
    V(b"K\x01\x8c\x03int\x93.", {}, id="STACK_GLOBAL-module-int"),
    V(b"\x8c\x08builtinsK\x01\x93.", {}, id="STACK_GLOBAL-name-int"),
    V(b"C\x08builtinsC\x03int\x93.", {}, id="STACK_GLOBAL-bytes-names"),
    V(b"\x94.", {}, id="MEMOIZE-empty"),
    V(b"p0\n.", {}, id="PUT-empty"),
    V(b"q\x00.", {}, id="BINPUT-empty"),
    V(b"r\x00\x00\x00\x00.", {}, id="LONG_BINPUT-empty"),
    V(b"K\x01(q\x00.", {}, id="BINPUT-hidden-by-mark"),
    V(b"g0\n.", {}, id="GET-missing"),
    V(b"h\x00.", {}, id="BINGET-missing"),
    V(b"j\x00\x00\x00\x00.", {}, id="LONG_BINGET-missing"),
    V(b"Nq\x01h\x00.", {}, id="BINGET-other-index"),
    V(b"Nq\x01j\x01\x00\x00\x01.", {}, id="LONG_BINGET-other-index"),
    V(b"Q.", {"persistent_load": persistent}, id="BINPERSID-empty"),
    V(b"\x98.", {}, id="READONLY_BUFFER-empty"),
    V(b"K\x01\x98.", {}, id="READONLY_BUFFER-int"),
    V(b"(o.", {}, id="OBJ-no-class"),
    V(b"(K\x01o.", {}, id="OBJ-int-class"),
    V(b"(K\x01K\x02ibuiltins\nint\n.", {}, id="INST-emulator-rejects-args"),
]

# --------------------------------------------------------------------------
# invalid input: MARK missing
# --------------------------------------------------------------------------

BAD_MARK: list[Any] = [
    V(b"t.", {}, id="TUPLE"),
    V(b"K\x01t.", {}, id="TUPLE-with-item"),
    V(b"(K\x01tt.", {}, id="TUPLE-mark-used-twice"),
    V(b"l.", {}, id="LIST"),
    V(b"K\x01l.", {}, id="LIST-with-item"),
    V(b"d.", {}, id="DICT"),
    V(b"K\x01K\x02d.", {}, id="DICT-with-items"),
    V(b"]K\x01e.", {}, id="APPENDS"),
    V(b"}K\x01K\x02u.", {}, id="SETITEMS"),
    V(b"\x8fK\x01\x90.", {}, id="ADDITEMS"),
    V(b"K\x01\x91.", {}, id="FROZENSET"),
    V(b"1.", {}, id="POP_MARK"),
    V(b"K\x011.", {}, id="POP_MARK-with-item"),
    V(b"cbuiltins\nlist\no.", {}, id="OBJ"),
    V(b"ibuiltins\nlist\n.", {}, id="INST"),
    V(b"K\x01ibuiltins\nint\n.", {}, id="INST-with-item"),
]

# --------------------------------------------------------------------------
# invalid input: argument cut short / data ends before STOP -> TruncatedError
# --------------------------------------------------------------------------

TRUNCATED: list[Any] = [
    V(b"", id="empty-input"),
    V(b"\x80", id="PROTO"),
    V(b"\x80\x04\x95\x05\x00\x00", id="FRAME-length"),
    V(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00N.", id="FRAME-longer-than-data"),
    V(b"I12", id="INT-no-newline"),
    V(b"I", id="INT-nothing"),
    V(b"L12L", id="LONG"),
    V(b"F1.5", id="FLOAT"),
    V(b"S'abc'", id="STRING-no-newline"),
    V(b"S'ab", id="STRING-half"),
    V(b"Vabc", id="UNICODE"),
    V(b"Np0", id="PUT"),
    V(b"Np0\ng0", id="GET"),
    V(b"Pabc", id="PERSID"),
    V(b"cbuiltins\nin", id="GLOBAL-name"),
    V(b"cbuiltins", id="GLOBAL-module"),
    V(b"c", id="GLOBAL-nothing"),
    V(b"(ibuiltins\nlis", id="INST-name"),
    V(b"(ibuilt", id="INST-module"),
    V(b"J\x01\x02", id="BININT"),
    V(b"J", id="BININT-nothing"),
    V(b"K", id="BININT1"),
    V(b"M\x01", id="BININT2"),
    V(b"\x8a", id="LONG1-length"),
    V(b"\x8a\x02\x01", id="LONG1-body"),
    V(b"\x8b\x01\x00", id="LONG4-length"),
    V(b"\x8b\x02\x00\x00\x00\x01", id="LONG4-body"),
    V(b"G\x3f\xf0", id="BINFLOAT"),
    V(b"T\x03\x00", id="BINSTRING-length"),
    V(b"T\x03\x00\x00\x00ab", id="BINSTRING-body"),
    V(b"U", id="SHORT_BINSTRING-length"),
    V(b"U\x03ab", id="SHORT_BINSTRING-body"),
    V(b"X\x03", id="BINUNICODE-length"),
    V(b"X\x03\x00\x00\x00ab", id="BINUNICODE-body"),
    V(b"X\x02\x00\x00\x00\xc3", id="BINUNICODE-cut-in-utf8-char"),
    V(b"\x8d\x03\x00", id="BINUNICODE8-length"),
    V(b"\x8d\x03\x00\x00\x00\x00\x00\x00\x00ab", id="BINUNICODE8-body"),
    V(b"\x8c", id="SHORT_BINUNICODE-length"),
    V(b"\x8c\x03ab", id="SHORT_BINUNICODE-body"),
    V(b"B\x03\x00\x00", id="BINBYTES-length"),
    V(b"B\x03\x00\x00\x00ab", id="BINBYTES-body"),
    V(b"\x8e\x03\x00\x00\x00", id="BINBYTES8-length"),
    V(b"\x8e\x03\x00\x00\x00\x00\x00\x00\x00ab", id="BINBYTES8-body"),
    V(b"C", id="SHORT_BINBYTES-length"),
    V(b"C\x03ab", id="SHORT_BINBYTES-body"),
    V(b"\x96\x03\x00\x00\x00\x00\x00\x00", id="BYTEARRAY8-length"),
    V(b"\x96\x03\x00\x00\x00\x00\x00\x00\x00ab", id="BYTEARRAY8-body"),
    V(b"]h", id="BINGET"),
    V(b"]j\x00\x00", id="LONG_BINGET"),
    V(b"Nq", id="BINPUT"),
    V(b"Nr\x00", id="LONG_BINPUT"),
    V(b"\x82", id="EXT1"),
    V(b"\x83\x01", id="EXT2"),
    V(b"\x84\x01\x00\x00", id="EXT4"),
    # no STOP after a complete opcode
    V(b"N", id="no-STOP-NONE"),
    V(b"\x80\x02\x88", id="no-STOP-NEWTRUE"),
    V(b"]K\x01a", id="no-STOP-APPEND"),
    V(b"(K\x01", id="no-STOP-open-MARK"),
    V(b"K\x01\x85", id="no-STOP-TUPLE1"),
    V(b"\x80\x04" + pb.frame(b"N"), id="no-STOP-after-FRAME"),
]

# --------------------------------------------------------------------------
# invalid input: malformed arguments and other refusals
# --------------------------------------------------------------------------

MALFORMED: list[Any] = [
    V(b"\xff.", {}, id="unknown-opcode-ff"),
    V(b"\x00.", {}, id="unknown-opcode-00"),
    V(b"N\xb0.", {}, id="unknown-opcode-after-valid"),
    V(b"\x80\x06N.", {}, id="PROTO-6"),
    V(b"\x80\xffN.", {}, id="PROTO-255"),
    V(b"Iabc\n.", {}, id="INT-letters"),
    V(b"I\n.", {}, id="INT-empty"),
    V(b"I1.5\n.", {}, id="INT-float-text"),
    V(b"Labc\n.", {}, id="LONG-letters"),
    V(b"L\n.", {}, id="LONG-empty"),
    V(b"LL\n.", {}, id="LONG-only-L"),
    V(b"Fabc\n.", {}, id="FLOAT-letters"),
    V(b"F\n.", {}, id="FLOAT-empty"),
    V(b"Sabc\n.", {}, id="STRING-unquoted"),
    V(b"S'abc\"\n.", {}, id="STRING-mismatched-quotes"),
    V(b"S'\n.", {}, id="STRING-single-quote-char"),
    V(b"S\n.", {}, id="STRING-empty"),
    V(b"S'abc\n.", {}, id="STRING-missing-close-quote"),
    V(b"S'\\x4'\n.", {}, id="STRING-bad-hex-escape"),
    V(b"S'abc\\'\n.", {}, id="STRING-trailing-backslash"),
    V(b"S'caf\\xe9'\n.", {}, id="STRING-non-ascii-default-encoding"),
    V(b"S'\\xff'\n.", {"encoding": "utf-8"}, id="STRING-bad-utf8"),
    V(b"T\xff\xff\xff\xffabc.", {}, id="BINSTRING-negative-length"),
    V(b"U\x01\xe9.", {}, id="SHORT_BINSTRING-non-ascii-default"),
    V(b"T\x01\x00\x00\x00\xe9.", {}, id="BINSTRING-non-ascii-default"),
    V(b"V\\u12\n.", {}, id="UNICODE-short-escape"),
    V(b"V\\U00110000\n.", {}, id="UNICODE-out-of-range"),
    V(b"X\x01\x00\x00\x00\xff.", {}, id="BINUNICODE-bad-utf8"),
    V(b"\x8c\x01\xff.", {}, id="SHORT_BINUNICODE-bad-utf8"),
    V(b"\x8d\x01\x00\x00\x00\x00\x00\x00\x00\xff.", {}, id="BINUNICODE8-bad-utf8"),
    V(b"\x8b\xff\xff\xff\xff.", {}, id="LONG4-negative-length"),
    V(b"\x8e" + b"\xff" * 8 + b".", {}, id="BINBYTES8-over-maxsize"),
    V(b"\x8d" + b"\xff" * 8 + b".", {}, id="BINUNICODE8-over-maxsize"),
    V(b"\x96" + b"\xff" * 8 + b".", {}, id="BYTEARRAY8-over-maxsize"),
    V(b"\x80\x04\x95" + b"\xff" * 8 + b"N.", {}, id="FRAME-over-maxsize"),
    V(b"Np-1\n.", {}, id="PUT-negative"),
    V(b"Npx\n.", {}, id="PUT-letters"),
    V(b"Np\n.", {}, id="PUT-empty-arg"),
    V(b"gx\n.", {}, id="GET-letters"),
    V(b"Np0\ng-1\n.", {}, id="GET-negative"),
    V(b"Pabc\n.", {}, id="PERSID-no-hook"),
    V(b"K\x01Q.", {}, id="BINPERSID-no-hook"),
    V(b"P\xe9\n.", {"persistent_load": persistent}, id="PERSID-non-ascii"),
    V(b"\x80\x05\x97.", {}, id="NEXT_BUFFER-no-buffers"),
    V(b"\x80\x05\x97\x97\x86.", {"buffers": [b"a"]}, id="NEXT_BUFFER-exhausted"),
    V(b"\x80\x02\x82\x00.", {}, id="EXT1-code-0"),
    V(b"\x80\x02\x84\xff\xff\xff\xff.", {}, id="EXT4-negative-code"),
    V(b"\x80\x02\x83\xcd\xab.", {}, id="EXT2-unregistered"),
    V(b"\x80\x02\x84\xcd\xab\x00\x00.", {}, id="EXT4-unregistered"),
    V(b"c\xff\nx\n.", {}, id="GLOBAL-module-bad-utf8"),
    V(b"cbuiltins\n\xff\n.", {}, id="GLOBAL-name-bad-utf8"),
    V(b"c\nint\n.", {}, id="GLOBAL-empty-module"),
    V(b"(i\xff\nx\n.", {}, id="INST-module-bad-utf8"),
]


def _check_rejected_by_cpython(data: bytes, options: dict[str, Any]) -> None:
    assert cpython_rejects(data, **options), "test input is accepted by CPython"


@pytest.mark.parametrize(("data", "options"), BAD_STACK)
def test_bad_stack(data: bytes, options: dict[str, Any], how: str) -> None:
    _check_rejected_by_cpython(data, options)
    with pytest.raises(emulpickle.UnpicklingError):
        emu_load(how, data, **options)


@pytest.mark.parametrize(("data", "options"), BAD_MARK)
def test_bad_mark(data: bytes, options: dict[str, Any], how: str) -> None:
    _check_rejected_by_cpython(data, options)
    with pytest.raises(emulpickle.UnpicklingError):
        emu_load(how, data, **options)


@pytest.mark.parametrize("data", TRUNCATED)
def test_truncated(data: bytes, how: str) -> None:
    _check_rejected_by_cpython(data, {})
    with pytest.raises(emulpickle.TruncatedError) as info:
        emu_load(how, data)
    assert isinstance(info.value, EOFError)
    assert isinstance(info.value, pickle.UnpicklingError)


@pytest.mark.parametrize("cut", range(1, 40))
def test_every_prefix_of_a_real_pickle_is_truncated(cut: int) -> None:
    data = pickle.dumps({"a": [1, 2.5, "x" * 3], "b": (None, True)}, protocol=4)
    if cut >= len(data):
        pytest.skip("past the end")
    with pytest.raises(emulpickle.TruncatedError):
        emulpickle.loads(data[:-cut])


@pytest.mark.parametrize(("data", "options"), MALFORMED)
def test_malformed(data: bytes, options: dict[str, Any], how: str) -> None:
    _check_rejected_by_cpython(data, options)
    with pytest.raises(emulpickle.UnpicklingError):
        emu_load(how, data, **options)


def test_every_error_table_entry_is_unique() -> None:
    seen: set[bytes] = set()
    for table in (BAD_STACK, BAD_MARK, MALFORMED):
        for p in table:
            key = p.values[0] + repr(sorted(p.values[1])).encode()
            assert key not in seen, p.id
            seen.add(key)


# ---- where errors are reported ------------------------------------------------


@pytest.mark.parametrize(
    ("data", "cls", "offset", "opcode"),
    [
        V(b"\x80\x02J\x01\x02", emulpickle.TruncatedError, 2, "BININT", id="BININT"),
        V(
            b"NNX\x05\x00\x00\x00ab",
            emulpickle.TruncatedError,
            2,
            "BINUNICODE",
            id="BINUNICODE-truncated",
        ),
        V(
            b"NNNcbuiltins\nin",
            emulpickle.TruncatedError,
            3,
            "GLOBAL",
            id="GLOBAL-truncated",
        ),
        V(b"\x80\x02K\x01a.", emulpickle.UnpicklingError, 4, "APPEND", id="APPEND"),
        V(b"\x80\x06N.", emulpickle.UnpicklingError, 0, "PROTO", id="PROTO"),
        V(b"\x80\x02K\x01l.", emulpickle.UnpicklingError, 4, "LIST", id="LIST"),
        V(
            b"\x80\x02X\x01\x00\x00\x00\xff.",
            emulpickle.UnpicklingError,
            2,
            "BINUNICODE",
            id="BINUNICODE",
        ),
        V(b"NNNS'abc\n.", emulpickle.UnpicklingError, 3, "STRING", id="STRING"),
        V(
            b"\x80\x02N\x93.",
            emulpickle.UnpicklingError,
            3,
            "STACK_GLOBAL",
            id="STACK_GLOBAL",
        ),
        V(
            b"\x80\x04" + pb.frame(b"N]a."),
            emulpickle.UnpicklingError,
            13,
            "APPEND",
            id="absolute-offset-inside-frame",
        ),
        V(b"\x80\x02]h\x07.", emulpickle.UnpicklingError, 3, "BINGET", id="BINGET"),
    ],
)
def test_error_offset_and_opcode(
    data: bytes, cls: type[Exception], offset: int, opcode: str, how: str
) -> None:
    with pytest.raises(cls) as info:
        emu_load(how, data)
    err = info.value
    assert isinstance(err, emulpickle.UnpicklingError)
    assert err.offset == offset
    assert err.opcode == opcode
    assert f"({opcode} at offset {offset})" in str(err)


def test_unknown_opcode_offset(how: str) -> None:
    with pytest.raises(emulpickle.UnpicklingError) as info:
        emu_load(how, b"\x80\x02NN\xff.")
    assert info.value.offset == 4


# --------------------------------------------------------------------------
# FRAME boundary rules (the pure-Python CPython unpickler enforces them too)
# --------------------------------------------------------------------------

FRAME_ERRORS = [
    V(b"\x80\x04" + pb.frame(b"M\x01") + b"\x00.", id="BININT2-arg-straddles"),
    V(b"\x80\x04" + pb.frame(b"\x8c\x03ab") + b"c.", id="SHORT_BINUNICODE-straddles"),
    V(b"\x80\x04" + pb.frame(b"J\x01\x00") + b"\x00\x00.", id="BININT-straddles"),
    V(b"\x80\x04" + pb.frame(b"I12") + b"3\n.", id="INT-line-straddles"),
    V(
        b"\x80\x04" + pb.frame(b"\x95\x01") + b"\x00\x00\x00\x00\x00\x00\x00N.",
        id="FRAME-length-straddles",
    ),
    V(b"\x80\x04" + pb.frame(b"N" + pb.frame(b".")), id="FRAME-inside-frame"),
    V(
        b"\x80\x04" + pb.frame(b"]" + pb.frame(b"") + b"."),
        id="empty-FRAME-inside-frame",
    ),
]


@pytest.mark.parametrize("data", FRAME_ERRORS)
def test_frame_boundaries(data: bytes, how: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - sanity check of the input
        ref_loads(data, python=True)
    with pytest.raises(emulpickle.UnpicklingError):
        emu_load(how, data)


def test_frame_inside_frame_message_names_frame(how: str) -> None:
    data = b"\x80\x04" + pb.frame(b"N" + pb.frame(b"."))
    with pytest.raises(emulpickle.UnpicklingError) as info:
        emu_load(how, data)
    assert info.value.opcode == "FRAME"
    assert info.value.offset == 12  # the inner FRAME: 2 (PROTO) + 9 + 1 (NONE)


def test_frames_from_cpython_pickler(how: str) -> None:
    obj = {"k": ["x" * 70000, b"y" * 70000, list(range(2000))], "t": (1.5, None)}
    for protocol in (4, 5):
        data = pickle.dumps(obj, protocol=protocol)
        assert same(emu_load(how, data), obj)


# --------------------------------------------------------------------------
# several pickles in one file: load() stops right after STOP
# --------------------------------------------------------------------------


class MinimalStream:
    """Only read() and readline(), no seek/peek/readinto: nothing can be undone."""

    def __init__(self, data: bytes) -> None:
        self._f = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._f.read(n)

    def readline(self, size: int = -1) -> bytes:
        return self._f.readline(size)

    def tell(self) -> int:
        return self._f.tell()


CONSECUTIVE = [
    ["a", 1],
    {"b": (2.5, None)},
    b"bytes" * 10,
    list(range(300)),
    "x" * 70000,  # big enough for the protocol 4/5 pickler to frame
    True,
]


@pytest.mark.parametrize("stream_type", ["BytesIO", "MinimalStream"])
@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_consecutive_pickles_in_one_file(protocol: int, stream_type: str) -> None:
    chunks = [pickle.dumps(obj, protocol=protocol) for obj in CONSECUTIVE]
    data = b"".join(chunks)
    f: Any = io.BytesIO(data) if stream_type == "BytesIO" else MinimalStream(data)
    end = 0
    for obj, chunk in zip(CONSECUTIVE, chunks, strict=True):
        end += len(chunk)
        assert same(emulpickle.load(f), obj)
        assert f.tell() == end
    with pytest.raises(emulpickle.TruncatedError):
        emulpickle.load(f)


def test_consecutive_mixed_protocols_with_unpickler_objects() -> None:
    data = (
        b"I1\n."
        + pickle.dumps("two", protocol=2)
        + pickle.dumps({"three": 3}, protocol=5)
        + b"\x80\x04"
        + pb.frame(b"\x8c\x04four.")
    )
    f = MinimalStream(data)
    got = [emulpickle.Unpickler(f).load() for _ in range(4)]
    assert got == [1, "two", {"three": 3}, "four"]
    assert f.tell() == len(data)


def test_consecutive_matches_cpython_positions() -> None:
    data = b"".join(pickle.dumps(o, protocol=4) for o in CONSECUTIVE)
    ours, theirs = MinimalStream(data), MinimalStream(data)
    for _ in CONSECUTIVE:
        assert same(emulpickle.load(ours), pickle.load(theirs))  # type: ignore[arg-type]
        assert ours.tell() == theirs.tell()


def test_same_unpickler_loads_twice() -> None:
    data = pickle.dumps([1], protocol=2) + pickle.dumps([2], protocol=2)
    u = emulpickle.Unpickler(io.BytesIO(data))
    assert u.load() == [1]
    assert u.load() == [2]
