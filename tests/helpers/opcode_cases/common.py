"""What the opcode tests share: CPython's own unpickler as the reference, a
comparison that requires identical types, the three ways to load with
emulpickle, and real classes that a find_class hook hands out.
"""

from __future__ import annotations

import io
import pickle
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


V = pytest.param
