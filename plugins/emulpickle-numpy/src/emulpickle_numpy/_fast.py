"""The fast paths: what numpy writes for numeric arrays and scalars.

Each function accepts only the common form and otherwise hands its arguments,
unchanged, to the fully checked path of :mod:`._arrays`. Those forms are
checked just as strictly here (a dtype counts only once it is sealed, see
:func:`._dtypes.plain_itemsize`), only in fewer steps: the functions take
fixed parameters (the cheapest calls) and look dtypes up in one dictionary.

When the plugin is installed where a C compiler works, this module is
compiled with mypyc (see ``setup.py``) and :mod:`._fastload` picks the
compiled version; keep it mypyc-compatible: typed, plain functions, no
dynamic tricks, and parameters typed ``object`` or ``Any`` (compiled code
raises ``TypeError`` for an argument of another type than declared, where
these functions must fall back to the checked path instead).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from . import _arrays, _dtypes

__all__ = ["reconstruct", "scalar", "set_array_state"]

# Final: compiled, these are C statics rather than module lookups.
_ABSENT: Final = _arrays.ABSENT
_NDARRAY: Final = _arrays.NDARRAY
_PLACEHOLDERS: Final = _arrays.PLACEHOLDERS
_PLAIN: Final = _dtypes.PLAIN
_plain_itemsize: Final = _dtypes.plain_itemsize
_reconstruct_checked: Final = _arrays.reconstruct_checked
_scalar_checked: Final = _arrays.scalar_checked
_set_array_state_checked: Final = _arrays.set_array_state_checked
_real_scalar: Final = _arrays.REAL_SCALAR
_ndarray: Final[Any] = np.ndarray
_empty: Final[Any] = np.empty
_ndarray_setstate: Final[Any] = np.ndarray.__setstate__
_mark_unbuilt: Final = _arrays.mark_unbuilt
_take_unbuilt: Final = _arrays.take_unbuilt


def reconstruct(
    subtype: object = _ABSENT,
    shape: object = _ABSENT,
    dtype_arg: object = _ABSENT,
    *rest: object,
) -> object:
    """``multiarray._reconstruct(subtype, shape, dtype)``: an empty array."""
    if (
        subtype is _NDARRAY
        and type(shape) is tuple
        and len(shape) == 1
        and not rest
        and (type(dtype_arg) is bytes or type(dtype_arg) is str)
    ):
        dim = shape[0]
        if type(dim) is int and dim == 0:  # what numpy writes
            dtype = _PLACEHOLDERS.get(dtype_arg)
            if dtype is not None:
                return _mark_unbuilt(_empty(0, dtype))
    return _reconstruct_checked(subtype, shape, dtype_arg, rest)


def scalar(dtype: object = _ABSENT, data: object = _ABSENT, *rest: object) -> object:
    """``multiarray.scalar(dtype, data)``: a numpy scalar from its bytes."""
    entry = _PLAIN.get(id(dtype))
    if entry is not None and entry[0] is dtype:
        itemsize = entry[1]
    else:
        itemsize = _plain_itemsize(dtype)
    if itemsize >= 0 and type(data) is bytes and len(data) == itemsize and not rest:
        return _real_scalar(dtype, data)
    return _scalar_checked(dtype, data, rest)


def set_array_state(arr: object, state: object) -> None:
    """State setter for ndarrays: validate, then ``ndarray.__setstate__``."""
    # What numpy writes for a numeric array: a 5-tuple, a 1-d shape and bytes
    # whose length is exactly shape x itemsize.
    if type(state) is tuple and len(state) == 5 and type(arr) is _ndarray:
        version, shape, dtype, is_fortran, rawdata = state
        entry = _PLAIN.get(id(dtype))
        if entry is not None and entry[0] is dtype:
            itemsize = entry[1]
        else:
            itemsize = _plain_itemsize(dtype)
        if (
            itemsize >= 0
            and type(rawdata) is bytes
            and type(shape) is tuple
            and len(shape) == 1
            and type(is_fortran) is bool
            and type(version) is int
        ):
            count = shape[0]
            if (
                type(count) is int
                and count >= 0
                and len(rawdata) == count * itemsize
                and _take_unbuilt(arr)
            ):
                _ndarray_setstate(arr, state)
                return
    _set_array_state_checked(arr, state)
