"""pandas' extension arrays: Categorical, datetime-like, string, masked,
interval and sparse arrays, each built from checked parts."""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from emulpickle import Registry

from ._base import PandasGlobal, Pending, fail, guarded, real, register_global
from ._checks import check_array, check_codes, check_int
from ._dtypes import state_dict
from ._scalars import check_offset

__all__ = ["Columns", "check_values", "freq_of", "register_arrays"]

#: Module paths pandas 1.5 wrote for the array classes.
_OLD = {
    "Categorical": "pandas.core.arrays.categorical",
    "StringArray": "pandas.core.arrays.string_",
    "DatetimeArray": "pandas.core.arrays.datetimes",
    "TimedeltaArray": "pandas.core.arrays.timedeltas",
    "PeriodArray": "pandas.core.arrays.period",
    "IntegerArray": "pandas.core.arrays.integer",
    "FloatingArray": "pandas.core.arrays.floating",
    "BooleanArray": "pandas.core.arrays.boolean",
    "IntervalArray": "pandas.core.arrays.interval",
    "SparseArray": "pandas.core.arrays.sparse.array",
    "NumpyExtensionArray": "pandas.core.arrays.numpy_",
    "PandasArray": "pandas.core.arrays.numpy_",
}


class Columns(list[Any]):
    """A 2-D datetime-like/period block's values: one real 1-D array per
    column (pandas keeps them as one 2-D array; a frame only needs columns)."""


def check_values(value: object, what: str) -> Any:
    """A 1-D numpy array of an allowed dtype or a real pandas extension array."""
    value = real(value)
    if isinstance(value, pd.api.extensions.ExtensionArray):
        return value
    return check_array(value, what)


def _backed(name: str, make: Any) -> Any:
    """BUILD of an NDArrayBacked array: ``(dtype, ndarray[, attrs])``."""

    def build(state: object) -> object:
        if type(state) is not tuple or len(state) not in (2, 3):
            raise fail(name, state, "expected (dtype, values[, attributes])")
        dtype, values = real(state[0]), state[1]
        array = check_array(values, f"{name} values", ndim=(1, 2))
        extra = real(state[2]) if len(state) == 3 else {}
        if type(extra) is not dict:
            raise fail(name, extra, "expected a dict of attributes")
        freq = real(extra.get("_freq"))
        if array.ndim == 1:
            return _with_freq(make(dtype, array), freq)
        return Columns(make(dtype, row) for row in array)

    return build


def _with_freq(array: Any, freq: object) -> Any:
    """A datetime-like array with the ``freq`` pandas 1.x kept on it (its
    index's freq); pandas checks that the values conform to it."""
    if freq is None or not isinstance(
        array, pd.arrays.DatetimeArray | pd.arrays.TimedeltaArray
    ):
        return array
    check_offset(freq, "array freq")
    make = (
        pd.DatetimeIndex
        if isinstance(array, pd.arrays.DatetimeArray)
        else pd.TimedeltaIndex
    )
    made = guarded("array freq", lambda: make(array, freq=freq).array)
    # pandas 3's arrays have no freq: the index built on it asks freq_of.
    _FREQS[id(made)] = (weakref.ref(made), freq)
    if len(_FREQS) > 1024:
        for key, (ref, _) in list(_FREQS.items()):
            if ref() is None:
                del _FREQS[key]
    return made


#: id(array) -> (weak reference, freq) for arrays a pickle gave a freq.
_FREQS: dict[int, tuple[weakref.ref[Any], object]] = {}


def freq_of(array: object) -> object:
    """The freq a datetime-like array was pickled with (pandas 1.x kept it
    on the array), or None."""
    found = _FREQS.get(id(array))
    if found is not None and found[0]() is array:
        return found[1]
    return getattr(array, "freq", None)


def _categorical(dtype: Any, codes: np.ndarray[Any, Any]) -> object:
    if not isinstance(dtype, pd.CategoricalDtype) or dtype.categories is None:
        raise fail(
            "Categorical dtype", dtype, "expected a CategoricalDtype with categories"
        )
    check_codes(codes, "Categorical codes", len(dtype.categories))
    return guarded("Categorical", lambda: pd.Categorical.from_codes(codes, dtype=dtype))


def _string(dtype: Any, values: np.ndarray[Any, Any]) -> object:
    if not isinstance(dtype, pd.StringDtype) or values.dtype.kind != "O":
        raise fail("StringArray", dtype, "expected a StringDtype and object values")
    for item in values:
        if not (
            type(item) is str
            or item is None
            or item is pd.NA
            or (type(item) is float and item != item)
        ):
            raise fail("StringArray element", item, "expected a str or a missing value")
    return guarded("StringArray", lambda: pd.array(values, dtype=dtype))


def _datetime(dtype: Any, values: np.ndarray[Any, Any]) -> object:
    check_array(values, "DatetimeArray values", kinds="M")
    if isinstance(dtype, pd.DatetimeTZDtype):
        tz = dtype.tz
        return guarded(
            "DatetimeArray", lambda: pd.array(values).tz_localize("UTC").tz_convert(tz)
        )
    if dtype != values.dtype:
        raise fail("DatetimeArray dtype", dtype, "does not match its values")
    return guarded("DatetimeArray", lambda: pd.array(values))


def _timedelta(dtype: Any, values: np.ndarray[Any, Any]) -> object:
    check_array(values, "TimedeltaArray values", kinds="m")
    if dtype != values.dtype:
        raise fail("TimedeltaArray dtype", dtype, "does not match its values")
    return guarded("TimedeltaArray", lambda: pd.array(values))


def _period(dtype: Any, values: np.ndarray[Any, Any]) -> object:
    check_array(values, "PeriodArray ordinals", kinds="i")
    if not isinstance(dtype, pd.PeriodDtype):
        raise fail("PeriodArray dtype", dtype, "expected a PeriodDtype")
    return guarded(
        "PeriodArray", lambda: pd.arrays.PeriodArray(values.astype("i8"), dtype=dtype)
    )


def _numpy(dtype: Any, values: np.ndarray[Any, Any]) -> object:
    return guarded("NumpyExtensionArray", lambda: pd.array(values, dtype=values.dtype))


def _masked(name: str) -> Any:
    cls = getattr(pd.arrays, name)
    kinds = {"IntegerArray": "iu", "FloatingArray": "f", "BooleanArray": "b"}[name]

    def build(state: object) -> object:
        d = state_dict(
            state, name, frozenset({"_data", "_mask", "_cache", "_dtype", "_readonly"})
        )
        data = check_array(d.get("_data"), f"{name} data", kinds=kinds)
        mask = check_array(d.get("_mask"), f"{name} mask", kinds="b")
        if mask.shape != data.shape:
            raise fail(name, (data.shape, mask.shape), "data and mask shapes differ")
        return guarded(name, lambda: cls(data, mask))

    return build


def _interval_state(state: object) -> object:
    if type(state) is tuple and len(state) == 1:
        state = state[0]
    d = state_dict(
        state,
        "IntervalArray",
        frozenset({"_left", "_right", "_dtype", "_closed", "_readonly"}),
    )
    dtype = real(d.get("_dtype"))
    if not isinstance(dtype, pd.IntervalDtype):
        raise fail("IntervalArray dtype", dtype, "expected an IntervalDtype")
    left = check_values(d.get("_left"), "IntervalArray left")
    right = check_values(d.get("_right"), "IntervalArray right")
    if len(left) != len(right):
        raise fail(
            "IntervalArray", (len(left), len(right)), "left and right lengths differ"
        )
    return guarded(
        "IntervalArray",
        lambda: pd.arrays.IntervalArray.from_arrays(
            left, right, closed=dtype.closed, dtype=dtype
        ),
    )


def _int_index(length: object, indices: object) -> object:
    size = check_int(length, "sparse IntIndex length", low=0)
    points = check_array(indices, "sparse IntIndex indices", kinds="iu")
    if points.size and (
        int(points[0]) < 0
        or int(points[-1]) >= size
        or not bool(np.all(np.diff(points) > 0))
    ):
        raise fail(
            "sparse IntIndex indices",
            points,
            f"must increase strictly within [0, {size})",
        )
    return guarded(
        "IntIndex", lambda: pd._libs.sparse.IntIndex(size, points.astype(np.int32))
    )


def _block_index(length: object, blocs: object, blengths: object) -> object:
    size = check_int(length, "sparse BlockIndex length", low=0)
    starts = check_array(blocs, "sparse BlockIndex starts", kinds="iu").astype(np.int64)
    lengths = check_array(blengths, "sparse BlockIndex lengths", kinds="iu").astype(
        np.int64
    )
    ends = starts + lengths
    if len(starts) != len(lengths) or (
        starts.size
        and (
            int(starts[0]) < 0
            or int(lengths.min()) < 0
            or int(ends[-1]) > size
            or not bool(np.all(starts[1:] >= ends[:-1]))
        )
    ):
        raise fail(
            "sparse BlockIndex",
            (starts, lengths),
            f"blocks must be ordered within [0, {size})",
        )
    return guarded(
        "BlockIndex",
        lambda: pd._libs.sparse.BlockIndex(
            size, starts.astype(np.int32), lengths.astype(np.int32)
        ),
    )


def _sparse(state: object) -> object:
    d = state_dict(
        state,
        "SparseArray",
        frozenset({"_sparse_index", "_sparse_values", "_dtype", "_readonly"}),
    )
    index = real(d.get("_sparse_index"))
    if not isinstance(index, pd._libs.sparse.SparseIndex):
        raise fail("SparseArray index", index, "expected an IntIndex or BlockIndex")
    values = check_array(d.get("_sparse_values"), "SparseArray values")
    dtype = real(d.get("_dtype"))
    if not isinstance(dtype, pd.SparseDtype):
        raise fail("SparseArray dtype", dtype, "expected a SparseDtype")
    if len(values) != index.npoints:
        raise fail(
            "SparseArray",
            (len(values), index.npoints),
            "values and index points differ",
        )
    return guarded(
        "SparseArray",
        lambda: pd.arrays.SparseArray(values, sparse_index=index, dtype=dtype),
    )


def _cython_unpickle(what: str, tag: str) -> Any:
    """``__pyx_unpickle_<Base>(cls, checksum, state)``: a pending instance
    of one of ``tag``'s classes, filled by the BUILD that follows."""

    def call(cls: object, checksum: object = None, state: object = None) -> object:
        if not isinstance(cls, PandasGlobal) or cls.tag != tag:
            raise fail(what, cls, "not an array class pandas pickles this way")
        if state is not None:
            raise fail(what, state, "expected its state from a BUILD")
        return Pending(cls)

    return call


def register_arrays(registry: Registry) -> None:
    """Register the array classes and their helpers."""
    backed = {
        "Categorical": _categorical,
        "StringArray": _string,
        "DatetimeArray": _datetime,
        "TimedeltaArray": _timedelta,
        "PeriodArray": _period,
        "NumpyExtensionArray": _numpy,
        "PandasArray": _numpy,
    }
    for name, make in backed.items():
        emulator = PandasGlobal(
            f"pandas.arrays.{name}", build=_backed(name, make), tag="backed"
        )
        names = (f"pandas.arrays.{name}", f"{_OLD[name]}.{name}")
        register_global(
            registry,
            names + (("pandas.Categorical",) if name == "Categorical" else ()),
            emulator,
        )
    for name in ("IntegerArray", "FloatingArray", "BooleanArray"):
        emulator = PandasGlobal(f"pandas.arrays.{name}", build=_masked(name))
        register_global(
            registry, (f"pandas.arrays.{name}", f"{_OLD[name]}.{name}"), emulator
        )
    interval = PandasGlobal(
        "pandas.arrays.IntervalArray", build=_interval_state, tag="interval"
    )
    register_global(
        registry,
        ("pandas.arrays.IntervalArray", f"{_OLD['IntervalArray']}.IntervalArray"),
        interval,
    )
    sparse = PandasGlobal("pandas.arrays.SparseArray", build=_sparse)
    register_global(
        registry,
        ("pandas.arrays.SparseArray", f"{_OLD['SparseArray']}.SparseArray"),
        sparse,
    )
    register_global(
        registry,
        ("pandas._libs.arrays.__pyx_unpickle_NDArrayBacked",),
        PandasGlobal("NDArrayBacked", _cython_unpickle("NDArrayBacked", "backed")),
    )
    register_global(
        registry,
        ("pandas._libs.interval.__pyx_unpickle_IntervalMixin",),
        PandasGlobal("IntervalMixin", _cython_unpickle("IntervalMixin", "interval")),
    )
    register_global(
        registry,
        ("pandas._libs.sparse.IntIndex",),
        PandasGlobal("IntIndex", _int_index),
    )
    register_global(
        registry,
        ("pandas._libs.sparse.BlockIndex",),
        PandasGlobal("BlockIndex", _block_index),
    )
