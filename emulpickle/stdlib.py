"""Emulators for safe standard-library globals, registered in the default registry.

Builtin types answer as themselves (so ``loads(dumps(int)) is int``); calling
them from a pickle goes through validated stand-ins. The functions below
stand in for the few non-type globals that CPython emits for builtin values.
"""

from __future__ import annotations

import codecs
from typing import Any

from . import _semantics
from ._builtins import BUILTIN_CALLS
from .errors import EmulationError
from .registry import Registry

__all__ = ["register_stdlib"]

_BUILTIN_TYPES: tuple[type, ...] = (
    bool, bytearray, bytes, complex, dict, float, frozenset, int, list, object,
    range, set, slice, str, tuple, type,
)  # fmt: skip

_MUTABLE_CONTAINERS = (list, dict, set, bytearray)


def codecs_encode(obj: object, encoding: object = "utf-8", *rest: object) -> bytes:
    """``_codecs.encode`` as protocols 0-2 use it for ``bytes``: latin-1 only."""
    if rest:
        raise EmulationError("_codecs.encode is only emulated with two arguments")
    if not isinstance(obj, str) or not isinstance(encoding, str):
        raise EmulationError("_codecs.encode expects (str, encoding)")
    try:
        canonical = codecs.lookup(encoding).name
    except LookupError:
        canonical = ""
    if canonical != "iso8859-1":
        raise EmulationError(
            f"_codecs.encode is only emulated for latin-1, not {encoding!r}"
        )
    return obj.encode("latin-1")


def reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copyreg._reconstructor``: protocol 0/1 instances of plain classes."""
    if base is object:
        return _semantics.new(cls, (), {})
    if isinstance(cls, type) and _semantics.protocol_method(cls, "py_new") is None:
        stand_in = BUILTIN_CALLS.get(cls)
        if stand_in is not None and cls is base:
            return stand_in(state)
        if not isinstance(base, type) or not issubclass(cls, base):
            raise EmulationError("copyreg._reconstructor: class is not a subclass")
        if base in BUILTIN_CALLS:
            BUILTIN_CALLS[base](state)  # validate the size before the real call
        real_base: Any = base
        obj = real_base.__new__(cls, state)
        if real_base.__init__ is not object.__init__:
            real_base.__init__(obj, state)
        return obj
    if base in _MUTABLE_CONTAINERS:
        obj = _semantics.new(cls, (), {})
        if base is dict:
            items: list[Any] = []
            for key, value in dict(state).items():
                items += (key, value)
            _semantics.set_items(obj, items)
        elif base is set:
            _semantics.add_items(obj, list(state))
        else:
            _semantics.extend(obj, list(state))
        return obj
    return _semantics.new(cls, (state,), {})


def newobj(cls: Any, *args: Any) -> Any:
    """``copyreg.__newobj__``: ``cls.__new__(cls, *args)``."""
    return _semantics.new(cls, args, {})


def newobj_ex(cls: Any, args: Any, kwargs: Any) -> Any:
    """``copyreg.__newobj_ex__``: ``cls.__new__(cls, *args, **kwargs)``."""
    if not isinstance(args, tuple) or not isinstance(kwargs, dict):
        raise EmulationError("copyreg.__newobj_ex__ expects (cls, tuple, dict)")
    return _semantics.new(cls, args, kwargs)


def register_stdlib(registry: Registry) -> None:
    """Register the standard-library emulators into ``registry``."""
    for cls in _BUILTIN_TYPES:
        registry.register("builtins", cls.__name__, cls)
    registry.register("builtins", "Ellipsis", Ellipsis)
    registry.register("builtins", "NotImplemented", NotImplemented)
    registry.register("_codecs", "encode", codecs_encode)
    registry.register("copyreg", "_reconstructor", reconstructor)
    registry.register("copyreg", "__newobj__", newobj)
    registry.register("copyreg", "__newobj_ex__", newobj_ex)
