"""Builtin types and the helpers CPython's pickler names for builtin values.

Builtin types answer as themselves (so ``loads(dumps(int)) is int``); calling
them from a pickle goes through the machine's validated stand-ins. The
functions below stand in for the few non-type globals that CPython emits for
builtin values: ``_codecs.encode`` and copyreg's reconstructors.

Imports the machine (``semantics``, ``standins``, ``textcodecs``) and the
bottom layer, never the registry.
"""

from __future__ import annotations

from typing import Any, cast

from ..errors import EmulationError
from ..machine import semantics
from ..machine.standins import BUILTIN_CALLS
from ..machine.textcodecs import error_handler, text_codec
from .base import Entry

__all__ = ["codecs_encode", "entries", "newobj", "newobj_ex", "reconstructor"]

_BUILTIN_TYPES: tuple[type, ...] = (
    bool, bytearray, bytes, complex, dict, float, frozenset, int, list, object,
    range, set, slice, str, tuple, type,
)  # fmt: skip

_MUTABLE_CONTAINERS = (list, dict, set, bytearray)


def codecs_encode(
    obj: object, encoding: object = "utf-8", errors: object = "strict"
) -> bytes:
    """``_codecs.encode``, which protocols 0-2 use for ``bytes`` (with latin-1).

    Only text codecs that are linear and data-only are allowed (see
    :mod:`emulpickle.machine.textcodecs`): no punycode, no zlib or bz2.
    """
    what = "_codecs.encode"
    if not isinstance(obj, str):
        raise EmulationError(f"{what} expects a str, not {type(obj).__name__}")
    return obj.encode(text_codec(what, encoding), error_handler(what, errors))


def reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copyreg._reconstructor``: protocol 0/1 instances of plain classes."""
    if base is object:
        return semantics.new(cls, (), {})
    if isinstance(cls, type) and semantics.protocol_method(cls, "py_new") is None:
        stand_in = BUILTIN_CALLS.get(cls)
        if stand_in is not None and cls is base:
            return stand_in(state)
        if not isinstance(base, type) or not issubclass(cls, base):
            raise EmulationError("copyreg._reconstructor: class is not a subclass")
        # base.__new__ / base.__init__ run below as they are: only for classes
        # the registry answered, never for one the pickle came by otherwise.
        semantics.check_instantiable(cls)
        if base in BUILTIN_CALLS:
            BUILTIN_CALLS[base](state)  # validate the size before the real call
        real_base: Any = base
        obj = real_base.__new__(cls, state)
        if real_base.__init__ is not object.__init__:
            real_base.__init__(obj, state)
        return obj
    if base in _MUTABLE_CONTAINERS:
        # The validated stand-ins read the state: its size and keys are
        # checked before anything is hashed or allocated.
        obj = semantics.new(cls, (), {})
        if base is dict:
            items: list[Any] = []
            for key, value in cast(dict[Any, Any], BUILTIN_CALLS[dict](state)).items():
                items += (key, value)
            semantics.set_items(obj, items)
        elif base is set:
            semantics.add_items(obj, list(cast(set[Any], BUILTIN_CALLS[set](state))))
        else:
            semantics.extend(obj, cast(list[Any], BUILTIN_CALLS[list](state)))
        return obj
    return semantics.new(cls, (state,), {})


def newobj(cls: Any, *args: Any) -> Any:
    """``copyreg.__newobj__``: ``cls.__new__(cls, *args)``."""
    return semantics.new(cls, args, {})


def newobj_ex(cls: Any, args: Any, kwargs: Any) -> Any:
    """``copyreg.__newobj_ex__``: ``cls.__new__(cls, *args, **kwargs)``."""
    if not isinstance(args, tuple) or not isinstance(kwargs, dict):
        raise EmulationError("copyreg.__newobj_ex__ expects (cls, tuple, dict)")
    return semantics.new(cls, args, kwargs)


def entries() -> list[Entry]:
    """``(module, name, emulator)`` for the builtin globals answered."""
    found: list[Entry] = [("builtins", cls.__name__, cls) for cls in _BUILTIN_TYPES]
    found += [
        ("builtins", "Ellipsis", Ellipsis),
        ("builtins", "NotImplemented", NotImplemented),
        ("_codecs", "encode", codecs_encode),
        ("copyreg", "_reconstructor", reconstructor),
        ("copyreg", "__newobj__", newobj),
        ("copyreg", "__newobj_ex__", newobj_ex),
    ]
    return found
