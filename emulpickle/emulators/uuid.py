"""The emulator for ``uuid.UUID`` (REDUCE from a string, NEWOBJ + BUILD state).

``uuid`` is imported only when a pickle needs it. Imports only ``base``
and the bottom layer.
"""

from __future__ import annotations

from typing import Any

from .._render import bounded_repr
from .base import (
    Entry,
    NewableStdlibEmulator,
    arity,
    entries_of,
    exact_int,
    exact_str,
    fail,
    guard,
)

__all__ = ["entries"]


def _uuid_value(what: str, value: object) -> int:
    number = exact_int(what, value)
    if not 0 <= number < 1 << 128:
        raise fail(what, "int is out of range (need a 128-bit integer)")
    return number


def _uuid_call(*args: object) -> object:
    import uuid

    what = "uuid.UUID"
    arity(what, args, 1, 1)
    text = exact_str(what, args[0])
    if len(text) > 100:
        raise fail(what, "string too long for a UUID")
    return guard(what, lambda: uuid.UUID(text))


def _uuid_new(*args: object, **kwargs: object) -> object:
    if args or kwargs:
        raise fail("uuid.UUID", "__new__ takes no arguments")
    import uuid

    builder: Any = _uuid_builder()
    obj = object.__new__(builder)
    # Valid until BUILD gives the real state (CPython leaves it unset).
    object.__setattr__(obj, "int", 0)
    object.__setattr__(obj, "is_safe", uuid.SafeUUID.unknown)
    return obj


_UUID_BUILDER: list[type] = []


def _uuid_builder() -> type:
    """A layout-compatible UUID subclass that validates its BUILD state.

    After a valid state is applied the instance becomes a real ``uuid.UUID``.
    """
    if _UUID_BUILDER:
        return _UUID_BUILDER[0]
    import uuid

    class UUIDBuilder(uuid.UUID):
        __slots__ = ()

        def __init__(self) -> None:  # never called by the machine
            pass

        def py_setstate(self, state: object) -> None:
            what = "uuid.UUID"
            if type(state) is not dict or not set(state) <= {"int", "is_safe"}:
                raise fail(what, "state must be a dict with keys 'int', 'is_safe'")
            if "int" not in state:
                raise fail(what, "state has no 'int'")
            number = _uuid_value(what, state["int"])
            safe = state.get("is_safe", uuid.SafeUUID.unknown.value)
            if safe not in (0, -1, None) or type(safe) is bool:
                raise fail(what, f"invalid is_safe {bounded_repr(safe)}")
            object.__setattr__(self, "int", number)
            object.__setattr__(self, "is_safe", uuid.SafeUUID(safe))
            object.__setattr__(self, "__class__", uuid.UUID)

    _UUID_BUILDER.append(UUIDBuilder)
    return UUIDBuilder


def entries() -> list[Entry]:
    """The emulators of this family."""
    return entries_of([NewableStdlibEmulator("uuid", "UUID", _uuid_call, _uuid_new)])
