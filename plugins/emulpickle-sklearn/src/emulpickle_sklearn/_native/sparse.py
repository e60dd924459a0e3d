"""scipy.sparse matrices and arrays, format-checked before they exist.

scipy pickles a sparse matrix as NEWOBJ of its class and a BUILD of its
``__dict__`` (``_shape``, ``maxprint`` and the format's arrays). BUILD sets
the attributes without any check, and scipy's C++ kernels (``csr_matvec``,
``csr_tocsc``, ...) then trust ``indptr`` and ``indices``: an index past
the shape writes or reads outside the output. Here the state is checked in
full (scipy's own ``check_format(full_check=True)`` and more: ``indptr``
starts at 0, never decreases and ends within ``indices``; every index and
coordinate inside the shape; lengths agree; numeric dtypes only) and the
real matrix is then made by its public constructor from copies of the checked
arrays (copies: the file's own arrays stay reachable from the memo).
Sorted/canonical flags in the file are ignored (scipy recomputes them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]

from emulpickle import Registry
from emulpickle.machine.host import Replacement

from ._common import (
    MAX_DIM,
    NativeClass,
    Pending,
    check_int,
    fail,
    refuse_later_builds,
    shown,
)

__all__ = ["register_sparse"]

#: format -> module (scipy >= 1.8 names, then the older public modules).
_FORMATS = ("csr", "csc", "coo", "bsr", "dia", "lil")
_INDEX_KINDS = (np.dtype(np.int32), np.dtype(np.int64))
#: Keys a state may hold besides its format's arrays (flags are recomputed).
_OPTIONAL = {
    "maxprint",
    "_has_sorted_indices",
    "_has_canonical_format",
    "has_canonical_format",
}
_ARRAYS = {
    "csr": {"indptr", "indices", "data"},
    "csc": {"indptr", "indices", "data"},
    "bsr": {"indptr", "indices", "data"},
    "coo": {"coords", "data"},
    "dia": {"data", "offsets"},
    "lil": {"rows", "data", "dtype"},
}


class PendingSparse(Pending):
    """A sparse matrix/array waiting for its BUILD (``kind`` is the class name)."""

    __slots__ = ()


def _data_dtype(dtype: np.dtype[Any], what: str) -> None:
    if dtype.kind not in "biufc" or dtype.names is not None or dtype.subdtype:
        raise fail(f"{what} has unsupported dtype {dtype.str}")


def _array(value: object, what: str, ndim: int) -> np.ndarray[Any, Any]:
    if type(value) is not np.ndarray:
        raise fail(f"{what} must be a numpy array, not {type(value).__name__}")
    if value.ndim != ndim:
        raise fail(f"{what} must have {ndim} dimensions, not {value.ndim}")
    return value


def _index(value: object, what: str) -> np.ndarray[Any, Any]:
    arr = _array(value, what, 1)
    if arr.dtype not in _INDEX_KINDS:
        raise fail(f"{what} must be int32 or int64, not {arr.dtype.str}")
    return arr


def _in_range(arr: np.ndarray[Any, Any], high: int, what: str) -> None:
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= high):
        bad = arr[(arr < 0) | (arr >= high)][0]
        raise fail(f"{what} holds {shown(int(bad))}, not in [0, {high})")


def _compressed(
    state: dict[str, Any], major: int, minor: int, what: str
) -> tuple[Any, ...]:
    indptr = _index(state["indptr"], f"{what}.indptr")
    indices = _index(state["indices"], f"{what}.indices")
    if indptr.shape[0] != major + 1:
        raise fail(f"{what}.indptr has {indptr.shape[0]} entries, expected {major + 1}")
    if int(indptr[0]) != 0:
        raise fail(f"{what}.indptr does not start at 0")
    if (np.diff(indptr) < 0).any():
        raise fail(f"{what}.indptr decreases")
    nnz = int(indptr[-1])
    if nnz > indices.shape[0]:
        raise fail(f"{what}.indptr ends at {nnz}, beyond {indices.shape[0]} indices")
    _in_range(indices[:nnz], minor, f"{what}.indices")
    return indptr, indices[:nnz], nnz


def _shape(state: dict[str, Any], what: str) -> tuple[int, int]:
    shape = state.get("_shape")
    if type(shape) is not tuple or len(shape) != 2:
        raise fail(f"{what}._shape must be a pair of ints, not {shown(shape)}")
    return (
        check_int(shape[0], f"{what}._shape[0]", 0, MAX_DIM),
        check_int(shape[1], f"{what}._shape[1]", 0, MAX_DIM),
    )


def build_sparse(cls: Any, fmt: str, state: object, what: str) -> Any:
    """The real ``cls`` for a BUILD state of format ``fmt``, checked first."""
    if type(state) is not dict or not all(type(k) is str for k in state):
        raise fail(f"{what} state must be a dict of str keys")
    keys = set(state)
    if "row" in keys and "col" in keys and fmt == "coo":  # scipy < 1.13
        keys = (keys - {"row", "col"}) | {"coords"}
    if not _ARRAYS[fmt] <= keys - {"_shape"} or not keys <= _ARRAYS[fmt] | _OPTIONAL | {
        "_shape"
    }:
        raise fail(f"{what} state has keys {shown(sorted(state))}")
    if "maxprint" in state:
        check_int(state["maxprint"], f"{what}.maxprint", 0, MAX_DIM)
    rows, cols = _shape(state, what)
    if fmt == "lil":
        return _lil(cls, state, rows, cols, what)
    data = state["data"]
    if type(data) is not np.ndarray:
        raise fail(f"{what}.data must be a numpy array, not {type(data).__name__}")
    _data_dtype(data.dtype, f"{what}.data")
    if fmt in ("csr", "csc"):
        major, minor = (rows, cols) if fmt == "csr" else (cols, rows)
        _array(data, f"{what}.data", 1)
        indptr, indices, nnz = _compressed(state, major, minor, what)
        if data.shape[0] < nnz:
            raise fail(f"{what}.data has {data.shape[0]} values for {nnz} entries")
        return cls((data[:nnz], indices, indptr), shape=(rows, cols), copy=True)
    if fmt == "bsr":
        _array(data, f"{what}.data", 3)
        block_rows, block_cols = data.shape[1], data.shape[2]
        if block_rows < 1 or block_cols < 1 or rows % block_rows or cols % block_cols:
            raise fail(
                f"{what}: blocks {shown(data.shape[1:])} do not tile {(rows, cols)}"
            )
        indptr, indices, nnz = _compressed(
            state, rows // block_rows, cols // block_cols, what
        )
        if data.shape[0] < nnz:
            raise fail(f"{what}.data has {data.shape[0]} blocks for {nnz} entries")
        return cls((data[:nnz], indices, indptr), shape=(rows, cols), copy=True)
    if fmt == "coo":
        coords = state.get("coords", (state.get("row"), state.get("col")))
        if type(coords) is not tuple or len(coords) != 2:
            raise fail(f"{what}.coords must be a pair of index arrays")
        _array(data, f"{what}.data", 1)
        row = _index(coords[0], f"{what}.coords[0]")
        col = _index(coords[1], f"{what}.coords[1]")
        if not row.shape[0] == col.shape[0] == data.shape[0]:
            raise fail(f"{what}: coords and data lengths differ")
        _in_range(row, rows, f"{what}.coords[0]")
        _in_range(col, cols, f"{what}.coords[1]")
        return cls((data, (row, col)), shape=(rows, cols), copy=True)
    # dia
    _array(data, f"{what}.data", 2)
    offsets = _index(state["offsets"], f"{what}.offsets")
    if offsets.shape[0] != data.shape[0]:
        raise fail(f"{what}: {offsets.shape[0]} offsets for {data.shape[0]} diagonals")
    if offsets.size and (
        int(offsets.min()) <= -max(rows, 1) or int(offsets.max()) >= max(cols, 1)
    ):
        raise fail(f"{what}.offsets has a diagonal outside the shape")
    if np.unique(offsets).shape[0] != offsets.shape[0]:
        raise fail(f"{what}.offsets repeats a diagonal")
    return cls((data, offsets), shape=(rows, cols), copy=True)


def _lil(cls: Any, state: dict[str, Any], rows: int, cols: int, what: str) -> Any:
    dtype = state["dtype"]
    if not isinstance(dtype, np.dtype):
        raise fail(f"{what}.dtype must be a dtype")
    _data_dtype(dtype, f"{what}.dtype")
    row_lists = _array(state["rows"], f"{what}.rows", 1)
    value_lists = _array(state["data"], f"{what}.data", 1)
    if row_lists.shape[0] != rows or value_lists.shape[0] != rows:
        raise fail(f"{what}: rows/data must have {rows} lists")
    coo_rows: list[int] = []
    coo_cols: list[int] = []
    values: list[Any] = []
    for i in range(rows):
        cols_i, vals_i = row_lists[i], value_lists[i]
        if (
            type(cols_i) is not list
            or type(vals_i) is not list
            or len(cols_i) != len(vals_i)
        ):
            raise fail(f"{what}: row {i} is not two lists of one length")
        for j, v in zip(cols_i, vals_i, strict=True):
            coo_rows.append(i)
            coo_cols.append(check_int(j, f"{what}.rows[{i}] item", 0, cols - 1))
            if isinstance(v, bool) or not isinstance(
                v, (int, float, complex, np.number)
            ):
                raise fail(f"{what}.data[{i}] holds a {type(v).__name__}")
            values.append(v)
    coo = sp.coo_matrix(
        (
            np.array(values, dtype=dtype),
            (np.array(coo_rows, dtype=np.intp), np.array(coo_cols, dtype=np.intp)),
        ),
        shape=(rows, cols),
    )
    return cls(coo, dtype=dtype)


def _setter(pending: Any, state: Any) -> object:
    if type(pending) is not PendingSparse:
        raise fail(f"sparse state applied to a {type(pending).__name__}")
    cls, fmt = _CLASSES[pending.kind]
    return Replacement(build_sparse(cls, fmt, state, pending.kind))


#: class name -> (real class, format).
_CLASSES: dict[str, tuple[Any, str]] = {}


def register_sparse(registry: Registry) -> None:
    """Answer every scipy.sparse matrix/array class (new and old module names)."""
    for fmt in _FORMATS:
        for suffix in ("matrix", "array"):
            name = f"{fmt}_{suffix}"
            cls = getattr(sp, name)
            _CLASSES[name] = (cls, fmt)
            marker = NativeClass(name, PendingSparse)
            registry.register(f"scipy.sparse._{fmt}", name, marker)
            if suffix == "matrix":
                registry.register(f"scipy.sparse.{fmt}", name, marker)
    registry.register_state_setter(PendingSparse, _setter)
    refuse_later_builds(registry, *(cls for cls, _ in _CLASSES.values()))
