"""Emulation protocols: how the machine drives objects that emulate Python ones.

An object a global resolves to (or that such an object returns) may implement
any of these methods. The machine uses a protocol method when it is present
and falls back to standard pickle semantics otherwise, so emulators only
implement what they need. All protocols are runtime-checkable.

| opcode(s)                 | protocol          | method                      |
|---------------------------|-------------------|-----------------------------|
| REDUCE, INST, OBJ         | PyCallable        | ``py_call(*args)``          |
| NEWOBJ, NEWOBJ_EX         | PyNewable         | ``py_new(*args, **kwargs)`` |
| BUILD                     | PyStateSettable   | ``py_setstate(state)``      |
| BUILD (dict state)        | PyDictSettable    | ``py_dict_set(key, value)`` |
| BUILD (slot state)        | PyAttrSettable    | ``py_setattr(name, value)`` |
| APPEND, APPENDS           | PyAppendable      | ``py_append(item)``         |
| SETITEM, SETITEMS         | PyItemSettable    | ``py_setitem(key, value)``  |
| ADDITEMS                  | PySetAddable      | ``py_add(item)``            |
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = [
    "PROTOCOL_METHODS",
    "PyAppendable",
    "PyAttrSettable",
    "PyCallable",
    "PyDictSettable",
    "PyItemSettable",
    "PyNewable",
    "PySetAddable",
    "PyStateSettable",
]


#: The names of the emulation protocol methods, one per protocol below.
PROTOCOL_METHODS = frozenset(
    (
        "py_call",
        "py_new",
        "py_setstate",
        "py_dict_set",
        "py_setattr",
        "py_append",
        "py_setitem",
        "py_add",
    )
)


@runtime_checkable
class PyCallable(Protocol):
    """Something a pickle may call (REDUCE, INST, OBJ)."""

    def py_call(self, *args: object) -> object:
        """Return the result of calling this object with ``args``."""
        ...


@runtime_checkable
class PyNewable(Protocol):
    """A class a pickle may instantiate with ``cls.__new__`` (NEWOBJ, NEWOBJ_EX)."""

    def py_new(self, *args: object, **kwargs: object) -> object:
        """Return a new, not yet initialised instance."""
        ...


@runtime_checkable
class PyStateSettable(Protocol):
    """An object that takes its BUILD state whole, like ``__setstate__``."""

    def py_setstate(self, state: object) -> None:
        """Apply ``state`` exactly as the pickle gave it."""
        ...


@runtime_checkable
class PyDictSettable(Protocol):
    """An object whose BUILD dict state is applied one key at a time."""

    def py_dict_set(self, key: object, value: object) -> None:
        """Set one entry of the instance dict."""
        ...


@runtime_checkable
class PyAttrSettable(Protocol):
    """An object whose BUILD slot state is applied with ``setattr``."""

    def py_setattr(self, name: str, value: object) -> None:
        """Set one attribute (slot) of the instance."""
        ...


@runtime_checkable
class PyAppendable(Protocol):
    """A list-like object (APPEND, APPENDS)."""

    def py_append(self, item: object) -> None:
        """Append one item."""
        ...


@runtime_checkable
class PyItemSettable(Protocol):
    """A dict-like object (SETITEM, SETITEMS)."""

    def py_setitem(self, key: object, value: object) -> None:
        """Set one item."""
        ...


@runtime_checkable
class PySetAddable(Protocol):
    """A set-like object (ADDITEMS)."""

    def py_add(self, item: object) -> None:
        """Add one item."""
        ...
