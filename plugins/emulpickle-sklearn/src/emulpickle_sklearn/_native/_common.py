"""Shared checks for the native emulators: arrays, integers, placeholders.

Every check raises :class:`emulpickle.EmulationError` naming what it checked
(``Tree.nodes``, ``KDTree.idx_array``...) and rendering file values with
:func:`emulpickle.bounded_repr` only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emulpickle import EmulationError, Registry, bounded_repr

__all__ = [
    "MAX_DIM",
    "NativeClass",
    "Pending",
    "check_array",
    "check_float",
    "check_int",
    "fail",
    "refuse_later_builds",
    "shown",
]

#: Largest count (samples, features, nodes, classes) a native state may claim.
#: Arrays are backed by the file anyway; this only bounds scalars that size
#: allocations the C code makes from them (e.g. ``Tree(n_features, ...)``).
MAX_DIM = 2**31 - 1


def fail(message: str) -> EmulationError:
    """The error every native check raises."""
    return EmulationError(message)


def shown(value: object) -> str:
    """``value`` for a message, bounded."""
    return bounded_repr(value, max_chars=80)


def check_int(value: object, what: str, low: int = 0, high: int = MAX_DIM) -> int:
    """``value`` as an int in ``[low, high]`` (numpy integers accepted)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise fail(f"{what} must be an int, not {type(value).__name__}")
    number = int(value)
    if not low <= number <= high:
        raise fail(f"{what} = {shown(number)} is outside [{low}, {high}]")
    return number


def check_float(value: object, what: str) -> float:
    """``value`` as a float (numpy floats and ints accepted)."""
    if isinstance(value, bool) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise fail(f"{what} must be a number, not {type(value).__name__}")
    return float(value)


def check_array(
    value: object,
    what: str,
    dtype: np.dtype[Any] | type | str,
    ndim: int | None = None,
    shape: tuple[int | None, ...] | None = None,
    *,
    contiguous: bool = False,
) -> np.ndarray[Any, Any]:
    """``value`` as an ndarray of exactly ``dtype`` and the given shape.

    ``shape`` entries of None match any length. ``contiguous`` asks for a
    C-contiguous array (what C code reading the raw buffer assumes). The
    comparison is exact (``==`` on dtypes: byte order, fields, offsets and
    item size included), never a cast.
    """
    if type(value) is not np.ndarray:
        raise fail(f"{what} must be a numpy array, not {type(value).__name__}")
    expected = np.dtype(dtype)
    if value.dtype != expected or value.dtype.itemsize != expected.itemsize:
        raise fail(f"{what} has dtype {_dtype_text(value.dtype)}, expected {expected}")
    if expected.names is not None and not _same_fields(value.dtype, expected):
        raise fail(f"{what} has a different structured dtype than expected")
    if shape is not None:
        ndim = len(shape)
    if ndim is not None and value.ndim != ndim:
        raise fail(f"{what} must have {ndim} dimensions, not {value.ndim}")
    if shape is not None:
        for got, want in zip(value.shape, shape, strict=True):
            if want is not None and got != want:
                raise fail(
                    f"{what} has shape {shown(value.shape)}, expected "
                    f"{shown(tuple('*' if w is None else w for w in shape))}"
                )
    if contiguous and not value.flags.c_contiguous:
        raise fail(f"{what} must be C-contiguous")
    return value


def _same_fields(got: np.dtype[Any], want: np.dtype[Any]) -> bool:
    if got.names != want.names or got.itemsize != want.itemsize:
        return False
    got_fields: dict[str, Any] = dict(got.fields or {})
    for name, spec in (want.fields or {}).items():
        other = got_fields.get(name)
        if other is None or other[0] != spec[0] or other[1] != spec[1]:
            return False
        if other[0].byteorder != spec[0].byteorder:
            return False
    return True


def _dtype_text(dtype: np.dtype[Any]) -> str:
    if dtype.names is None and dtype.subdtype is None:
        return str(dtype)
    return f"<structured dtype of {dtype.itemsize} bytes>"


def _refuse_build(obj: Any, state: Any) -> None:
    raise fail(
        f"{type(obj).__name__} was already built from a validated state; "
        "a second BUILD is refused"
    )


def refuse_later_builds(registry: Registry, *classes: type) -> None:
    """Refuse any BUILD on real objects of ``classes``.

    The native emulators hand out real objects only once their state was
    checked; the machine's default BUILD (``__setstate__`` / ``__dict__``
    update / ``setattr``) on such an object would let a second BUILD in the
    same file replace that state unchecked.
    """
    for cls in classes:
        registry.register_state_setter(cls, _refuse_build)


class Pending:
    """What a native emulator's call leaves until its BUILD arrives.

    Inert: no methods a pickle could use; the BUILD's state setter (registered
    for exactly this class) validates the state and puts the real object in
    its place with :class:`emulpickle.machine.host.Replacement`. A pending
    object that never gets its BUILD stays inert, and the estimators' own
    value checks refuse it.
    """

    __slots__ = ("args", "kind")

    def __init__(self, kind: str, args: tuple[Any, ...]) -> None:
        self.kind = kind
        self.args = args

    def __repr__(self) -> str:
        return f"<unbuilt {self.kind}>"


class NativeClass:
    """Answers a native class's global: an inert marker the native emulators
    accept (by identity) as their ``cls`` argument; NEWOBJ on it makes a
    :class:`Pending` of that kind when ``newable``."""

    __slots__ = ("name", "pending")

    def __init__(self, name: str, pending: type[Pending] | None = None) -> None:
        self.name = name
        self.pending = pending

    def __repr__(self) -> str:
        return f"<emulated {self.name}>"

    def py_new(self, *args: object, **kwargs: object) -> object:
        """NEWOBJ: a pending object of this class (no arguments allowed)."""
        if self.pending is None:
            raise fail(f"{self.name} cannot be instantiated this way")
        if args or kwargs:
            raise fail(f"{self.name}.__new__ takes no arguments here")
        return self.pending(self.name, ())
