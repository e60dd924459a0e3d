"""How :func:`emulpickle.to_builtins` writes numpy's objects.

Registered with :func:`emulpickle.convert.register_encoder` when the plugin
is imported. Arrays are written as ``emulpickle json`` writes them, without
their values: ``{"$tensor": {"dtype": "float32", "shape": [2, 3], "device":
"cpu"}}``; scalars as their Python value; dtypes as
``{"$type": "numpy.dtype", "value": "float32"}``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emulpickle.convert import register_encoder

from ._dtypes import dtype_text

__all__ = ["encode_array", "encode_dtype", "encode_scalar", "register_encoders"]


def encode_array(array: np.ndarray[Any, Any]) -> dict[str, object]:
    """``{"$tensor": {dtype, shape, device}}``: an array's summary."""
    summary = {
        "dtype": dtype_text(array.dtype),
        "shape": [int(n) for n in array.shape],
        "device": "cpu",
    }
    return {"$tensor": summary}


def encode_scalar(scalar: np.generic) -> object:
    """A numpy scalar's Python value (``np.int64(3)`` -> ``3``)."""
    return scalar.item()


def encode_dtype(dtype: np.dtype[Any]) -> dict[str, object]:
    """``{"$type": "numpy.dtype", "value": "float32"}`` (bounded for records)."""
    return {"$type": "numpy.dtype", "value": dtype_text(dtype)}


def register_encoders() -> None:
    """Teach :func:`emulpickle.to_builtins` numpy's arrays, scalars and dtypes."""
    register_encoder(np.ndarray, encode_array)
    register_encoder(np.generic, encode_scalar)
    register_encoder(np.dtype, encode_dtype)
