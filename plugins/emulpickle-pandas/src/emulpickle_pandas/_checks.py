"""Checks on the values a pickle hands to pandas' constructors."""

from __future__ import annotations

from typing import Any

import numpy as np

from emulpickle import current_limits

from ._base import fail

__all__ = [
    "ALLOWED_KINDS",
    "check_array",
    "check_bool",
    "check_codes",
    "check_int",
    "check_str",
    "length_limit",
    "span_length",
]

#: numpy dtype kinds a column, index or array may have: bool, integers,
#: floats, complex, datetime64, timedelta64, object (values emulpickle
#: built), fixed-width str/bytes. Void (records, raw bytes) is refused.
ALLOWED_KINDS = frozenset("biufcmMOUS")


def check_array(
    value: object,
    what: str,
    *,
    ndim: tuple[int, ...] = (1,),
    kinds: str = "",
) -> np.ndarray[Any, Any]:
    """``value`` as a numpy array of an allowed dtype and ``ndim`` (kinds:
    the allowed dtype kinds, default every allowed one)."""
    if type(value) is not np.ndarray:
        raise fail(what, value, "expected a numpy array")
    kind = value.dtype.kind
    if kind not in (kinds or ALLOWED_KINDS) or (value.dtype.hasobject and kind != "O"):
        raise fail(what, value.dtype, "dtype not allowed here")
    if value.ndim not in ndim:
        raise fail(
            what, value.shape, f"expected {' or '.join(map(str, ndim))} dimensions"
        )
    return value


def check_int(value: object, what: str, *, low: int | None = None) -> int:
    """An int (numpy integers too; never bool), at least ``low``."""
    if isinstance(value, np.integer):
        value = int(value)
    if type(value) is not int or (low is not None and value < low):
        raise fail(
            what,
            value,
            "expected an integer" + (f" >= {low}" if low is not None else ""),
        )
    return value


def check_bool(value: object, what: str) -> bool:
    """A bool (numpy bools too)."""
    if isinstance(value, np.bool_):
        value = bool(value)
    if type(value) is not bool:
        raise fail(what, value, "expected True or False")
    return value


def check_str(value: object, what: str, allowed: frozenset[str] | None = None) -> str:
    """A str (from ``allowed`` when given)."""
    if type(value) is not str or (allowed is not None and value not in allowed):
        raise fail(
            what,
            value,
            "not one of " + ", ".join(sorted(allowed)) if allowed else "expected a str",
        )
    return value


def check_codes(
    codes: object, what: str, size: int, length: int | None = None
) -> np.ndarray[Any, Any]:
    """Integer codes into something of ``size`` items: each in [-1, size)."""
    array = check_array(codes, what, kinds="iu")
    if length is not None and len(array) != length:
        raise fail(what, len(array), f"expected {length} codes")
    if array.size and (int(array.min()) < -1 or int(array.max()) >= size):
        raise fail(
            what,
            (int(array.min()), int(array.max())),
            f"codes must lie in [-1, {size}) (there are {size} categories/labels)",
        )
    return array


def span_length(start: int, stop: int, step: int) -> int:
    """``len(range(start, stop, step))`` for any ints (``len`` of a range
    beyond ``sys.maxsize`` raises OverflowError); ``step`` is not 0."""
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    return max(0, (start - stop - step - 1) // -step)


def length_limit() -> int:
    """The most elements a lazily sized object (RangeIndex) may have:
    ``Limits.max_emulator_alloc`` (as items, like other emulators)."""
    return current_limits().max_emulator_alloc
