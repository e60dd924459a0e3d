"""Every Index kind pandas pickles, through ``_new_Index`` and friends."""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from emulpickle import Registry

from ._arrays import check_values, freq_of
from ._base import PandasGlobal, fail, guarded, real, register_global
from ._checks import (
    check_array,
    check_codes,
    check_int,
    check_str,
    length_limit,
    span_length,
)
from ._dtypes import state_dict
from ._scalars import check_offset

__all__ = ["check_index", "check_label", "register_indexes"]

_LABEL_ATOMS = (
    type(None), str, bytes, int, float, complex, bool, np.generic,
    datetime.date, datetime.timedelta,
    pd.Timestamp, pd.Timedelta, pd.Period, pd.Interval,
)  # fmt: skip

#: Index classes: names (public and 1.5's module paths) -> kind.
_CLASSES = {
    "base": ("pandas.Index", "pandas.core.indexes.base.Index"),
    "numeric": (
        "pandas.core.indexes.numeric.Int64Index",
        "pandas.core.indexes.numeric.UInt64Index",
        "pandas.core.indexes.numeric.Float64Index",
        "pandas.core.indexes.numeric.NumericIndex",
        "pandas.Int64Index",
        "pandas.UInt64Index",
        "pandas.Float64Index",
    ),
    "range": ("pandas.RangeIndex", "pandas.core.indexes.range.RangeIndex"),
    "multi": ("pandas.MultiIndex", "pandas.core.indexes.multi.MultiIndex"),
    "categorical": (
        "pandas.CategoricalIndex",
        "pandas.core.indexes.category.CategoricalIndex",
    ),
    "datetime": ("pandas.DatetimeIndex", "pandas.core.indexes.datetimes.DatetimeIndex"),
    "timedelta": (
        "pandas.TimedeltaIndex",
        "pandas.core.indexes.timedeltas.TimedeltaIndex",
    ),
    "period": ("pandas.PeriodIndex", "pandas.core.indexes.period.PeriodIndex"),
    "interval": ("pandas.IntervalIndex", "pandas.core.indexes.interval.IntervalIndex"),
}


def check_label(value: object, what: str, depth: int = 0) -> object:
    """A name or label: atoms and tuples of them."""
    if type(value) is tuple and depth < 8:
        for item in value:
            check_label(item, what, depth + 1)
        return value
    if not isinstance(value, _LABEL_ATOMS):
        raise fail(what, value, "not a label pandas pickles")
    return value


def check_index(value: object, what: str) -> Any:
    """A real pandas Index this plugin built."""
    value = real(value)
    if not isinstance(value, pd.Index):
        raise fail(what, value, "expected an Index")
    return value


def _range(d: dict[str, object], name: object) -> object:
    start = check_int(d.get("start", 0), "RangeIndex start")
    stop = check_int(d.get("stop", 0), "RangeIndex stop")
    step = check_int(d.get("step", 1), "RangeIndex step")
    if step == 0:
        raise fail("RangeIndex step", step, "must not be 0")
    size = span_length(start, stop, step)  # a range is never materialised
    if size > length_limit():
        raise fail(
            "RangeIndex",
            (start, stop, step),
            f"{size} elements exceed Limits.max_emulator_alloc",
        )
    return guarded("RangeIndex", lambda: pd.RangeIndex(start, stop, step, name=name))


def _multi(d: dict[str, object]) -> object:
    levels = d.get("levels")
    codes = d.get("codes", d.get("labels"))
    names = d.get("names")
    if (
        not isinstance(levels, list | tuple)
        or not isinstance(codes, list | tuple)
        or len(levels) != len(codes)
    ):
        raise fail(
            "MultiIndex", (levels, codes), "expected as many levels as code arrays"
        )
    assert isinstance(levels, list | tuple) and isinstance(codes, list | tuple)
    if not levels:
        raise fail("MultiIndex", levels, "has no levels")
    levels = [check_index(level, "MultiIndex level") for level in levels]
    length = len(check_array(real(codes[0]), "MultiIndex codes", kinds="iu"))
    checked = [
        check_codes(real(c), "MultiIndex codes", len(lv), length)
        for c, lv in zip(codes, levels, strict=True)
    ]
    if names is None:
        names = [None] * len(levels)
    if type(names) not in (list, tuple) or len(names) != len(levels):  # type: ignore[arg-type]
        raise fail("MultiIndex names", names, "expected one name per level")
    assert isinstance(names, list | tuple)
    for item in names:
        check_label(item, "MultiIndex name")
    sortorder = d.get("sortorder")
    if sortorder is not None:
        sortorder = check_int(sortorder, "MultiIndex sortorder", low=0)
    return guarded(
        "MultiIndex",
        lambda: pd.MultiIndex(
            levels=levels,
            codes=checked,
            sortorder=sortorder,
            names=list(names),
            verify_integrity=True,
        ),
    )


def _interval_from_arrays(d: dict[str, object], name: object) -> object:
    """``IntervalIndex.from_arrays(left, right, closed, name)``, as
    ``_new_IntervalIndex`` calls it."""
    sides = []
    for key in ("left", "right"):
        side = real(d.get(key))
        sides.append(
            side
            if isinstance(side, pd.Index)
            else check_values(side, f"IntervalIndex {key}")
        )
    left, right = sides
    if len(left) != len(right):
        raise fail(
            "IntervalIndex", (len(left), len(right)), "left and right lengths differ"
        )
    closed = check_str(
        d.get("closed", "right"),
        "IntervalIndex closed",
        frozenset({"left", "right", "both", "neither"}),
    )
    return guarded(
        "IntervalIndex",
        lambda: pd.IntervalIndex.from_arrays(left, right, closed=closed, name=name),
    )


_KEYS = frozenset(
    {
        "left",
        "right",
        "data",
        "name",
        "names",
        "dtype",
        "freq",
        "tz",
        "closed",
        "start",
        "stop",
        "step",
        "levels",
        "codes",
        "labels",
        "sortorder",
        "_freq",
    }
)


def build_index(cls: object, d: object) -> object:
    """``_new_Index(cls, d)``: the real Index of kind ``cls`` from ``d``."""
    if not isinstance(cls, PandasGlobal) or not cls.tag.startswith("index:"):
        raise fail("_new_Index class", cls, "not an Index class")
    kind = cls.tag[len("index:") :]
    state = state_dict(d, f"{cls.qualname} state", _KEYS)
    name = check_label(state.get("name"), "Index name")
    if kind == "range":
        return _range(state, name)
    if kind == "multi":
        return _multi(state)
    if kind == "interval" and "data" not in state:
        return _interval_from_arrays(state, name)
    data = check_values(state.get("data"), f"{cls.qualname} data")
    freq = check_offset(real(state.get("freq")), "Index freq")
    # No "freq" key (pandas 1.x): the index keeps its data's freq.
    if "freq" not in state and kind == "datetime":
        # pandas 3 keeps a 1.x DatetimeIndex's freq (not a TimedeltaIndex's).
        freq = freq_of(data)
    timed = {"freq": freq}
    if kind in ("base", "numeric"):
        if isinstance(data, np.ndarray) and data.dtype.kind not in "biufcmMO":
            raise fail("Index data", data.dtype, "dtype not allowed in an Index")
        return guarded(
            "Index", lambda: pd.Index(data, name=name, dtype=data.dtype, copy=False)
        )
    if kind == "categorical":
        if not isinstance(data, pd.Categorical):
            raise fail("CategoricalIndex data", data, "expected a Categorical")
        return guarded("CategoricalIndex", lambda: pd.CategoricalIndex(data, name=name))
    if kind == "datetime":
        tz = state.get("tz")
        if tz is not None:
            raise fail(
                "DatetimeIndex tz", tz, "expected the time zone in the data's dtype"
            )
        return guarded(
            "DatetimeIndex", lambda: pd.DatetimeIndex(data, name=name, **timed)
        )
    if kind == "timedelta":
        return guarded(
            "TimedeltaIndex", lambda: pd.TimedeltaIndex(data, name=name, **timed)
        )
    if kind == "period":
        return guarded("PeriodIndex", lambda: pd.PeriodIndex(data, name=name))
    if not isinstance(data, pd.arrays.IntervalArray):
        raise fail("IntervalIndex data", data, "expected an IntervalArray")
    return guarded("IntervalIndex", lambda: pd.IntervalIndex(data, name=name))


def _kind_call(kind: str) -> Any:
    def call(cls: object, d: object, *rest: object) -> object:
        if not isinstance(cls, PandasGlobal) or cls.tag != f"index:{kind}":
            raise fail(f"_new_{kind} index class", cls, "does not match")
        if rest:
            raise fail(f"_new_{kind} index", rest, "unexpected arguments")
        return build_index(cls, d)

    return call


def register_indexes(registry: Registry) -> None:
    """Register the Index classes and the functions that rebuild them."""
    for kind, names in _CLASSES.items():
        register_global(registry, names, PandasGlobal(names[0], tag=f"index:{kind}"))
    ix = "pandas.core.indexes"
    register_global(
        registry, (f"{ix}.base._new_Index",), PandasGlobal("_new_Index", build_index)
    )
    for kind, module in (
        ("datetime", "datetimes"),
        ("timedelta", "timedeltas"),
        ("period", "period"),
        ("interval", "interval"),
    ):
        title = {
            "datetime": "Datetime",
            "timedelta": "Timedelta",
            "period": "Period",
            "interval": "Interval",
        }[kind]
        register_global(
            registry,
            (f"{ix}.{module}._new_{title}Index",),
            PandasGlobal(f"_new_{title}Index", _kind_call(kind)),
        )
