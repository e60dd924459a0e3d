"""emulpickle plugin for numpy: arrays, dtypes and scalars, never running numpy
code that a pickle names.

Install it and load with ``emulpickle.Registry.with_plugins("numpy")``::

    import emulpickle

    registry = emulpickle.Registry.with_plugins("numpy")
    array = emulpickle.loads(data, registry=registry)

Results are real :class:`numpy.ndarray`, numpy scalar and :class:`numpy.dtype`
objects, equal to what :func:`pickle.loads` returns (importing the plugin
teaches :func:`emulpickle.to_builtins` to write arrays as
``{"$tensor": {dtype, shape, device}}`` and scalars as their Python
value). Every argument and BUILD state is validated first; protocol-5
out-of-band buffers are wrapped without copying. ``__compiled__`` tells
whether the validation's fast paths run compiled by mypyc (as emulpickle's
own ``__compiled__`` does for its machine).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import emulpickle

from . import _fastload
from ._arrays import (
    MATRIX,
    NDARRAY,
    FromBufferEmulator,
    ReconstructEmulator,
    ScalarEmulator,
    mark_unbuilt,
    set_array_state_checked,
)
from ._builtins import register_encoders
from ._dtypes import DTypeEmulator, StringDTypeEmulator, dtype_classes, set_dtype_state

__all__ = ["array_from_state", "register"]

__version__ = "0.1.0"

#: Whether the fast paths (``_fast``) run compiled by mypyc.
__compiled__: bool = _fastload.compiled


def array_from_state(state: object) -> Any:
    """A real ndarray from the state a pickle gives an ndarray's BUILD.

    For emulators of array subclasses (``numpy.ma.MaskedArray``'s data,
    say) that receive an ndarray state inside their own: the state is
    checked exactly as an array's BUILD is (shape, dtype, size of the data)
    before numpy sees it. Raises :class:`emulpickle.EmulationError`.
    """
    arr: Any = mark_unbuilt(np.ndarray.__new__(np.ndarray, (0,), "b"))
    set_array_state_checked(arr, state)
    return arr


# emulpickle.to_builtins writes arrays as emulpickle json does.
register_encoders()

#: numpy 1.x writes ``numpy.core``; numpy 2.x writes ``numpy._core``.
_CORE_PACKAGES = ("numpy.core", "numpy._core")


def register(registry: emulpickle.Registry) -> None:
    """Entry point: teach ``registry`` the globals numpy's pickles name."""
    reconstruct = ReconstructEmulator(_fastload.reconstruct)
    scalar = ScalarEmulator(_fastload.scalar)
    frombuffer = FromBufferEmulator()
    for core in _CORE_PACKAGES:
        registry.register(f"{core}.multiarray", "_reconstruct", reconstruct)
        registry.register(f"{core}.multiarray", "scalar", scalar)
        registry.register(f"{core}.numeric", "_frombuffer", frombuffer)
        registry.register(
            f"{core}._internal",
            "_convert_to_stringdtype_kwargs",
            StringDTypeEmulator(),
        )
    registry.register("numpy", "ndarray", NDARRAY)
    registry.register("numpy", "matrix", MATRIX)
    registry.register("numpy.matrixlib.defmatrix", "matrix", MATRIX)
    registry.register("numpy", "dtype", DTypeEmulator())
    registry.register_state_setter(np.ndarray, _fastload.set_array_state)
    registry.register_state_setter(np.matrix, _fastload.set_array_state)
    for cls in dtype_classes():
        registry.register_state_setter(cls, set_dtype_state)
