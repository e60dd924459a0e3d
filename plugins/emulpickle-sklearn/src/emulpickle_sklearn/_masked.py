"""``numpy.ma.MaskedArray``: what ``GridSearchCV.cv_results_`` holds
(``param_*`` columns).

``MaskedArray.__reduce__`` writes ``_mareconstruct(MaskedArray, ndarray,
(0,), "b")`` and then a BUILD of ``(version, shape, dtype, fortran, data,
mask bytes, fill value)``. The data part is an ``ndarray`` state, built by
the numpy plugin's own validated state setter; the mask must be one byte
per element; the result is ``numpy.ma.MaskedArray(data, mask=mask)``.
Only that pair (and plain, non-structured dtypes) is read.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from emulpickle_numpy import array_from_state

from emulpickle import EmulationError, Registry, bounded_repr
from emulpickle.machine.host import Replacement

__all__ = ["register_masked"]

_NAMES = (("numpy.ma.core", "MaskedArray"), ("numpy.ma", "MaskedArray"))


class _MaskedClass:
    """``numpy.ma.MaskedArray`` named by the pickle: only an argument of
    ``_mareconstruct``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<emulpickle-sklearn numpy.ma.MaskedArray>"


_MASKED = _MaskedClass()


class _Pending:
    """A masked array before its BUILD."""

    __slots__ = ()


class _Reconstruct:
    """``numpy.ma.core._mareconstruct``."""

    __slots__ = ("registry",)

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def py_call(self, *args: object) -> object:
        """``_mareconstruct(MaskedArray, ndarray, (0,), "b")``: a placeholder
        its BUILD replaces."""
        ndarray = self.registry.resolve("numpy", "ndarray")
        if (
            len(args) != 4
            or args[0] is not _MASKED
            or ndarray is None
            or args[1] is not ndarray.value
            or args[2] != (0,)
            or args[3] != "b"
        ):
            raise EmulationError(
                f"numpy.ma.core._mareconstruct{bounded_repr(args)}: only "
                "MaskedArray's own pickles are read"
            )
        return _Pending()

    def build(self, inst: object, state: object) -> Replacement:
        """BUILD: the masked array, its data checked by the numpy plugin."""
        if type(state) is not tuple or len(state) != 7:
            raise EmulationError(f"a masked array state {bounded_repr(state)}")
        version, shape, dtype, fortran, raw, mask, fill = state
        data: Any = array_from_state((version, shape, dtype, fortran, raw))
        if not isinstance(data, np.ndarray) or data.dtype.fields is not None:
            raise EmulationError("a masked array of a structured dtype")
        if type(mask) is not bytes or len(mask) != math.prod(data.shape):
            raise EmulationError(
                f"a masked array of {data.size} elements with a mask of "
                f"{bounded_repr(mask)}"
            )
        flags = np.frombuffer(mask, dtype=np.bool_).reshape(
            data.shape, order="F" if fortran else "C"
        )
        if fill is not None and not isinstance(
            fill, (np.generic, int, float, str, bytes)
        ):
            raise EmulationError(f"a masked array fill value {bounded_repr(fill)}")
        result = np.ma.MaskedArray(data, mask=flags.copy())
        if fill is not None:
            result.fill_value = fill
        return Replacement(result)


def register_masked(registry: Registry) -> None:
    """Answer ``numpy.ma``'s pickle names in ``registry``."""
    reconstruct = _Reconstruct(registry)
    for module, name in _NAMES:
        registry.register(module, name, _MASKED)
    registry.register("numpy.ma.core", "_mareconstruct", reconstruct)
    registry.register_state_setter(_Pending, reconstruct.build)
