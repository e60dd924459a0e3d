"""Emulators for ndarrays and numpy scalars.

* ``multiarray._reconstruct(subtype, shape, dtype)`` creates the (empty) real
  array that the following BUILD fills; its state is validated before
  ``ndarray.__setstate__`` sees it.
* ``numeric._frombuffer(buffer, dtype, shape, order)`` (protocol 5) wraps the
  given buffer without copying it.
* ``multiarray.scalar(dtype, data)`` makes a numpy scalar from its bytes.

The forms numpy writes for numeric arrays and scalars take the fast paths of
:mod:`._fast`; everything else comes here (the ``*_checked`` functions).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from typing import Any, Final, cast

import numpy as np

import emulpickle

from ._dtypes import dtype_text, parse_typestr, seal, shown

__all__ = [
    "ABSENT",
    "MATRIX",
    "NDARRAY",
    "PLACEHOLDERS",
    "REAL_SCALAR",
    "FromBufferEmulator",
    "ReconstructEmulator",
    "ScalarEmulator",
    "mark_unbuilt",
    "reconstruct_checked",
    "scalar_checked",
    "set_array_state_checked",
    "take_unbuilt",
]

#: NPY_LIST_PICKLE in ``dtype.flags``: the array's data is pickled as a list.
_LIST_PICKLE = 0x02

#: Largest dimension product numpy can address.
_MAX_INTP = 2**63 - 1

#: How many distinct ``_reconstruct`` type strings are remembered.
_MAX_CACHED_DTYPES = 64

#: numpy's own ``multiarray.scalar``, called only with validated arguments.
REAL_SCALAR: Callable[..., Any] = cast(Any, np.float64(0).__reduce__())[0]

#: Stands for an argument the pickle did not give (the emulators' call
#: functions take fixed parameters, which are the fastest to call).
ABSENT: Any = object()


def _fail(message: str) -> emulpickle.EmulationError:
    return emulpickle.EmulationError(message)


#: The arrays ``_reconstruct`` made that have had no BUILD yet, by id (an
#: ndarray is not hashable), each with a weak reference that tells a live
#: array from a later one at the same address. ``ndarray.__setstate__``
#: replaces an array's data in place, so a second BUILD on an array that
#: is already in use (the memo hands it out again) would change what
#: emulators checked earlier (an estimator's support vectors after its
#: consistency check, say). An array therefore takes one BUILD, right after
#: ``_reconstruct``, as numpy writes them.
_UNBUILT: dict[int, weakref.ref[Any]] = {}
#: Beyond this many, the oldest unbuilt arrays can no longer be built.
_MAX_UNBUILT = 1 << 14


def mark_unbuilt(arr: Any) -> Any:
    """Remember ``arr`` (just made by ``_reconstruct``) as awaiting its BUILD."""
    if len(_UNBUILT) >= _MAX_UNBUILT:
        del _UNBUILT[next(iter(_UNBUILT))]
    _UNBUILT[id(arr)] = weakref.ref(arr)
    return arr


def take_unbuilt(arr: object) -> bool:
    """Whether ``arr`` awaits its BUILD (and from now on, that it does not)."""
    ref = _UNBUILT.pop(id(arr), None)
    return ref is not None and ref() is arr


#: What the plugin answers ``numpy.ndarray`` and ``numpy.matrix`` with: inert
#: strings holding their names, built here so that no other object is one of
#: them, and accepted (by identity) only as the ``subtype`` argument of
#: ``_reconstruct``; a pickle cannot call, instantiate or change them.
#:
#: Strings rather than objects of a class of ours, for the garbage collector:
#: numpy pickles every array as ``_reconstruct(ndarray, (0,), b"b")`` and the
#: memo keeps each of those argument tuples until the load ends. The collector
#: stops tracking a tuple whose items are all atomic (strings, numbers,
#: dtypes...), but never one that holds an instance of a Python class; 20,000
#: tracked tuples were enough to trigger a full collection during the load.
NDARRAY: Final = ".".join(["numpy", "ndarray"])
MATRIX: Final = ".".join(["numpy", "matrix"])


def _check_shape(value: object, what: str) -> tuple[int, ...]:
    if type(value) is not tuple or len(value) > 64:
        raise _fail(f"{what}: shape must be a tuple of at most 64 ints")
    dims: list[int] = []
    nonzero = 1
    for dim in value:
        if type(dim) is not int:
            raise _fail(f"{what}: dimension {shown(dim, 40)} is not an int")
        if dim < 0:
            raise _fail(f"{what}: negative dimension {dim}")
        if dim:
            nonzero *= dim
            if nonzero > _MAX_INTP:
                raise _fail(f"{what}: the shape's size overflows")
        dims.append(dim)
    return tuple(dims)


def _check_alloc(nbytes: int, what: str) -> None:
    limit = emulpickle.current_limits().max_emulator_alloc
    if nbytes > limit:
        raise emulpickle.LimitExceededError(
            f"{what}: {nbytes} bytes not backed by the input exceed "
            f"max_emulator_alloc ({limit})",
            limit="max_emulator_alloc",
        )


def _coerce_dtype(value: object, what: str) -> np.dtype[Any]:
    if isinstance(value, np.dtype):
        return value
    if isinstance(value, (bytes, str)):
        return parse_typestr(value)
    raise _fail(f"{what}: expected a dtype, not {type(value).__name__}")


#: Parsed ``_reconstruct`` type strings: numpy writes the same placeholder
#: (b"b") before every array. The dtype only shapes the empty array that
#: BUILD then replaces; the pickle never reaches it.
PLACEHOLDERS: dict[object, np.dtype[Any]] = {}


def reconstruct_checked(
    subtype: object, shape: object, dtype_arg: object, rest: tuple[object, ...]
) -> object:
    """``_reconstruct(subtype, shape, dtype, *rest)``, every argument checked."""
    if rest or dtype_arg is ABSENT:
        raise _fail("_reconstruct expects (subtype, shape, dtype)")
    cls: type[np.ndarray[Any, Any]]
    if subtype is NDARRAY:
        cls = np.ndarray
    elif subtype is MATRIX:
        cls = np.matrix
    else:
        raise _fail(f"_reconstruct: unsupported array class {shown(subtype, 80)}")
    kind = type(dtype_arg)
    if kind is bytes or kind is str:
        dtype = PLACEHOLDERS.get(dtype_arg)
        if dtype is None:
            dtype = _coerce_dtype(dtype_arg, "_reconstruct")
            if len(PLACEHOLDERS) < _MAX_CACHED_DTYPES:
                PLACEHOLDERS[dtype_arg] = dtype
    else:
        dtype = _coerce_dtype(dtype_arg, "_reconstruct")
        seal(dtype)
    dims = _check_shape(shape, "_reconstruct")
    _check_alloc(math.prod(dims) * max(dtype.itemsize, 1), "_reconstruct")
    return mark_unbuilt(np.ndarray.__new__(cls, dims, dtype))


class _GivenCall:
    """A class-level ``py_call`` that hands out the function given at creation.

    emulpickle finds protocol methods on the class only (a pickle could
    otherwise plant one in an instance); this descriptor is declared by the
    class and has no ``__set__``, and the machine gets the plain function
    (compiled or not, chosen at import) with no wrapper call in between.
    """

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else obj._call


class ReconstructEmulator:
    """Answers ``numpy.(_)core.multiarray._reconstruct`` with ``call``."""

    __slots__ = ("_call",)
    py_call = _GivenCall()

    def __init__(self, call: Callable[..., object]) -> None:
        self._call = call

    def __repr__(self) -> str:
        return "<emulated numpy multiarray._reconstruct>"


def _check_rawdata(dtype: np.dtype[Any], count: int, rawdata: object) -> None:
    if dtype.flags & _LIST_PICKLE or dtype.hasobject:
        if type(rawdata) is not list:
            raise _fail(
                f"ndarray state: dtype {dtype_text(dtype)} needs a list of items, "
                f"not {type(rawdata).__name__}"
            )
        if len(rawdata) != count:
            raise _fail(
                f"ndarray state: {len(rawdata)} items for a shape of {count} items"
            )
        _check_alloc(count * max(dtype.itemsize, 1), "ndarray state")
        if dtype.kind == "T":
            na = getattr(dtype, "na_object", None)
            for item in rawdata:
                if type(item) is not str and item is not na:
                    raise _fail("ndarray state: StringDType item is not a str")
        return
    if isinstance(rawdata, str):
        if not rawdata.isascii() and max(rawdata) > "\xff":
            raise _fail("ndarray state: text data is not latin-1")
        size = len(rawdata)
    elif type(rawdata) is bytes:
        size = len(rawdata)
    else:
        raise _fail(f"ndarray state: data must be bytes, not {type(rawdata).__name__}")
    nbytes = count * dtype.itemsize
    if size != nbytes:
        raise _fail(
            f"ndarray state: {size} bytes of data for {count} items of "
            f"{dtype.itemsize} bytes ({nbytes} bytes)"
        )


def set_array_state_checked(arr: Any, state: Any) -> None:
    """State setter for ndarrays: validate, then ``ndarray.__setstate__``."""
    if not isinstance(arr, np.ndarray):
        raise _fail("ndarray state applied to a non-array")
    if not take_unbuilt(arr):
        raise _fail(
            "ndarray state applied to an array that is already built (numpy "
            "writes one BUILD right after _reconstruct)"
        )
    if type(state) is not tuple or len(state) not in (4, 5):
        raise _fail("ndarray state must be a tuple of 4 or 5 items")
    if len(state) == 5 and type(state[0]) is not int:
        raise _fail("ndarray state: version must be an int")
    shape, dtype, is_fortran, rawdata = state[-4:]
    if not isinstance(dtype, np.dtype):
        raise _fail(f"ndarray state: expected a dtype, not {type(dtype).__name__}")
    if type(is_fortran) not in (bool, int) or is_fortran not in (0, 1):
        raise _fail("ndarray state: is_fortran must be a boolean")
    seal(dtype)
    count = math.prod(_check_shape(shape, "ndarray state"))
    if count * dtype.itemsize > _MAX_INTP:
        raise _fail("ndarray state: the array's size overflows")
    _check_rawdata(dtype, count, rawdata)
    arr.__setstate__(state)


class FromBufferEmulator:
    """Answers ``numpy.(_)core.numeric._frombuffer`` (protocol 5), zero-copy."""

    def __repr__(self) -> str:
        return "<emulated numpy numeric._frombuffer>"

    def py_call(self, *args: object) -> object:
        if len(args) != 4:
            raise _fail("_frombuffer expects (buffer, dtype, shape, order)")
        buf, dtype, shape, order = args
        if not isinstance(dtype, np.dtype):
            raise _fail(f"_frombuffer: expected a dtype, not {type(dtype).__name__}")
        if dtype.hasobject or dtype.flags & _LIST_PICKLE:
            raise _fail(
                f"_frombuffer: dtype {dtype_text(dtype)} cannot be read from bytes"
            )
        if dtype.itemsize == 0:
            raise _fail("_frombuffer: dtype has no size")
        seal(dtype)
        dims = _check_shape(shape, "_frombuffer")
        if order not in ("C", "F"):
            raise _fail(
                f"_frombuffer: order must be 'C' or 'F', not {shown(order, 20)}"
            )
        try:
            view = memoryview(cast(Any, buf))
        except TypeError:
            raise _fail(f"_frombuffer: {type(buf).__name__} is not a buffer") from None
        with view:
            if not view.contiguous:
                raise _fail("_frombuffer: buffer is not contiguous")
            nbytes = view.nbytes
        expected = math.prod(dims) * dtype.itemsize
        if nbytes != expected:
            raise _fail(
                f"_frombuffer: buffer has {nbytes} bytes, shape {dims} of "
                f"{dtype_text(dtype)} needs {expected}"
            )
        flat: np.ndarray[Any, Any] = cast(Any, np.frombuffer)(buf, dtype=dtype)
        return flat.reshape(dims, order=order)


def scalar_checked(dtype: Any, data: object, rest: tuple[object, ...]) -> object:
    """``scalar(dtype, data, *rest)``, every argument checked."""
    if rest or data is ABSENT:
        raise _fail("scalar expects (dtype, data)")
    if not isinstance(dtype, np.dtype):
        raise _fail(f"scalar: expected a dtype, not {type(dtype).__name__}")
    seal(dtype)
    if dtype.flags & _LIST_PICKLE or dtype.hasobject:
        if dtype.kind == "O" and dtype.names is None and dtype.shape == ():
            return data
        raise _fail(f"scalar: cannot make a {dtype_text(dtype)} scalar from a pickle")
    if isinstance(data, str):
        if not data.isascii() and max(data) > "\xff":
            raise _fail("scalar: text data is not latin-1")
        data = data.encode("latin-1")
    if type(data) is not bytes:
        raise _fail(f"scalar: data must be bytes, not {type(data).__name__}")
    if len(data) != dtype.itemsize:
        raise _fail(
            f"scalar: {len(data)} bytes of data for a {dtype.itemsize}-byte "
            f"{dtype_text(dtype)}"
        )
    return REAL_SCALAR(dtype, data)


class ScalarEmulator:
    """Answers ``numpy.(_)core.multiarray.scalar`` with ``call``."""

    __slots__ = ("_call",)
    py_call = _GivenCall()

    def __init__(self, call: Callable[..., object]) -> None:
        self._call = call

    def __repr__(self) -> str:
        return "<emulated numpy multiarray.scalar>"
