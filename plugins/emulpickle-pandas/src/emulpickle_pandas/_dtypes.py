"""pandas' extension dtypes."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from emulpickle import Registry

from ._base import PandasGlobal, fail, guarded, register_global
from ._checks import ALLOWED_KINDS, check_bool, check_str
from ._scalars import check_offset, check_tz

__all__ = ["check_numpy_dtype", "register_dtypes", "state_dict"]

_PERIOD = re.compile(
    r"period\[[0-9]*[A-Za-z][A-Za-z0-9\-]{0,15}\]|[0-9]*[A-Za-z][A-Za-z0-9\-]{0,15}"
)
_NULLABLE = (
    "Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype",
    "UInt8Dtype", "UInt16Dtype", "UInt32Dtype", "UInt64Dtype",
    "Float32Dtype", "Float64Dtype", "BooleanDtype",
)  # fmt: skip
_NULLABLE_MODULES = {"Float": "floating", "Boolean": "boolean"}


def state_dict(state: object, what: str, allowed: frozenset[str]) -> dict[str, object]:
    """A BUILD state that is a dict with only ``allowed`` str keys."""
    if type(state) is not dict or not all(type(k) is str for k in state):
        raise fail(what, state, "expected a dict state")
    extra = set(state) - allowed
    if extra:
        raise fail(what, sorted(extra), "unexpected state keys")
    return state


def check_numpy_dtype(value: object, what: str) -> np.dtype[np.generic]:
    """A numpy dtype of an allowed kind."""
    if (
        not isinstance(value, np.dtype)
        or value.kind not in ALLOWED_KINDS
        or value.fields
    ):
        raise fail(what, value, "expected a plain numpy dtype")
    return value


def _categorical(state: object) -> object:
    d = state_dict(
        state, "CategoricalDtype", frozenset({"categories", "ordered", "_ordered"})
    )
    categories = d.get("categories")
    if categories is not None and not isinstance(categories, pd.Index):
        raise fail("CategoricalDtype categories", categories, "expected an Index")
    ordered = d.get("ordered", d.get("_ordered", False))
    flag = None if ordered is None else check_bool(ordered, "CategoricalDtype ordered")
    return guarded("CategoricalDtype", lambda: pd.CategoricalDtype(categories, flag))


def _datetimetz(state: object) -> object:
    d = state_dict(state, "DatetimeTZDtype", frozenset({"unit", "tz"}))
    unit = check_str(
        d.get("unit", "ns"), "DatetimeTZDtype unit", frozenset({"s", "ms", "us", "ns"})
    )
    tz = check_tz(d.get("tz"), "DatetimeTZDtype tz")
    return guarded("DatetimeTZDtype", lambda: pd.DatetimeTZDtype(unit, tz))


def _period(freq: object) -> object:
    if type(freq) is str:
        if not _PERIOD.fullmatch(freq):
            raise fail("PeriodDtype", freq, "not a period frequency")
    else:
        check_offset(freq, "PeriodDtype freq")
    return guarded("PeriodDtype", lambda: pd.PeriodDtype(freq))


def _interval(state: object) -> object:
    d = state_dict(state, "IntervalDtype", frozenset({"subtype", "closed"}))
    subtype = d.get("subtype")
    if subtype is not None and not isinstance(subtype, pd.DatetimeTZDtype):
        subtype = check_numpy_dtype(subtype, "IntervalDtype subtype")
    closed = d.get("closed")
    if closed is not None:
        check_str(
            closed,
            "IntervalDtype closed",
            frozenset({"left", "right", "both", "neither"}),
        )
    return guarded("IntervalDtype", lambda: pd.IntervalDtype(subtype, closed))


def _sparse(state: object) -> object:
    d = state_dict(state, "SparseDtype", frozenset({"_dtype", "_fill_value"}))
    dtype = check_numpy_dtype(d.get("_dtype"), "SparseDtype dtype")
    fill = d.get("_fill_value")
    if fill is not None and not isinstance(fill, int | float | bool | np.generic):
        raise fail("SparseDtype fill value", fill, "expected a number")
    return guarded("SparseDtype", lambda: pd.SparseDtype(dtype, fill))


def _string(storage: object = "python", na_value: object = pd.NA) -> object:
    kind = check_str(
        storage,
        "StringDtype storage",
        frozenset({"python", "pyarrow", "pyarrow_numpy"}),
    )
    if na_value is pd.NA:
        return guarded("StringDtype", lambda: pd.StringDtype(kind))
    if not (isinstance(na_value, float) and na_value != na_value):
        raise fail("StringDtype na_value", na_value, "expected NA or nan")
    return guarded("StringDtype", lambda: pd.StringDtype(kind, na_value=na_value))


def _string_state(state: object) -> object:
    d = state_dict(
        state, "StringDtype", frozenset({"storage", "_na_value", "na_value"})
    )
    return _string(
        d.get("storage", "python"), d.get("_na_value", d.get("na_value", pd.NA))
    )


def _nullable(name: str) -> PandasGlobal:
    cls = getattr(pd, name)

    def call(*args: object) -> object:
        if args:
            raise fail(name, args, "takes no arguments")
        return cls()

    def build(state: object) -> object:
        state_dict(state, name, frozenset({"_cache"}))
        return cls()

    return PandasGlobal(f"pandas.{name}", call, build)


def register_dtypes(registry: Registry) -> None:
    """Register pandas' dtypes under their public and module names."""
    dd = "pandas.core.dtypes.dtypes"
    g = PandasGlobal
    register_global(
        registry,
        ("pandas.CategoricalDtype", f"{dd}.CategoricalDtype"),
        g("CategoricalDtype", build=_categorical),
    )
    register_global(
        registry,
        ("pandas.DatetimeTZDtype", f"{dd}.DatetimeTZDtype"),
        g("DatetimeTZDtype", build=_datetimetz),
    )
    register_global(
        registry, ("pandas.PeriodDtype", f"{dd}.PeriodDtype"), g("PeriodDtype", _period)
    )
    register_global(
        registry,
        ("pandas.IntervalDtype", f"{dd}.IntervalDtype"),
        g("IntervalDtype", build=_interval),
    )
    register_global(
        registry,
        (
            "pandas.SparseDtype",
            f"{dd}.SparseDtype",
            "pandas.core.arrays.sparse.dtype.SparseDtype",
        ),
        g("SparseDtype", build=_sparse),
    )
    register_global(
        registry,
        ("pandas.StringDtype", "pandas.core.arrays.string_.StringDtype"),
        g("StringDtype", _string, _string_state),
    )
    for name in _NULLABLE:
        stem = re.match(r"U?[A-Z][a-z]+", name)
        family = stem.group(0).lstrip("U") if stem else ""
        module = _NULLABLE_MODULES.get(family, "integer")
        register_global(
            registry,
            (f"pandas.{name}", f"pandas.core.arrays.{module}.{name}"),
            _nullable(name),
        )
