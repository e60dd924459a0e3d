"""How :func:`emulpickle.to_builtins` (``emulpickle json``) writes pandas'
objects: a summary (kind, shape, dtypes, at most 100 column names), never
the values, as arrays are written without theirs."""

from __future__ import annotations

from typing import Any

import pandas as pd  # type: ignore[import-untyped]

from emulpickle.convert import register_encoder

__all__ = ["register_encoders"]

#: Columns listed per frame (the rest are counted).
MAX_COLUMNS = 100


def _frame(frame: Any) -> dict[str, object]:
    columns = [
        [name, str(dtype)] for name, dtype in list(frame.dtypes.items())[:MAX_COLUMNS]
    ]
    return {
        "$type": "pandas.DataFrame",
        "shape": [int(n) for n in frame.shape],
        "columns": columns,
        "index": frame.index,
    }


def _series(series: Any) -> dict[str, object]:
    return {
        "$type": "pandas.Series",
        "name": series.name,
        "length": len(series),
        "dtype": str(series.dtype),
        "index": series.index,
    }


def _index(index: Any) -> dict[str, object]:
    return {
        "$type": f"pandas.{type(index).__name__}",
        "length": len(index),
        "dtype": str(index.dtype),
    }


def register_encoders() -> None:
    """Teach :func:`emulpickle.to_builtins` DataFrame, Series and Index."""
    register_encoder(pd.DataFrame, _frame)
    register_encoder(pd.Series, _series)
    register_encoder(pd.Index, _index)
