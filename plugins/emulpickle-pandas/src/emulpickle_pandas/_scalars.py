"""Scalars (Timestamp, Timedelta, Period, Interval, NaT, NA), date offsets
and the time zones frames hold."""

from __future__ import annotations

import datetime
import re
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from emulpickle import Registry

from ._base import PandasGlobal, fail, guarded, register_global
from ._checks import check_bool, check_int, check_str

__all__ = ["UNITS", "check_tz", "register_scalars", "unit_of"]

#: numpy's NPY_DATETIMEUNIT numbers pandas pickles as ``reso``.
UNITS = {7: "s", 8: "ms", 9: "us", 10: "ns"}

#: An IANA zone key: letters, digits, ``_ + -`` in ``/``-separated parts
#: (never ``..``, never absolute): what zoneinfo/pytz look up by name.
_ZONE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,3}")

#: The date offsets pandas' pickles may name; REDUCE args are
#: ``(n, normalize, *extra)`` where extra is one int/None/timedelta
#: (startingMonth, weekday, month, offset).
OFFSETS = (
    "Day", "Hour", "Minute", "Second", "Milli", "Micro", "Nano",
    "MonthEnd", "MonthBegin", "BusinessMonthEnd", "BusinessMonthBegin",
    "SemiMonthEnd", "SemiMonthBegin", "BusinessDay", "BusinessHour",
    "QuarterEnd", "QuarterBegin", "BQuarterEnd", "BQuarterBegin",
    "YearEnd", "YearBegin", "BYearEnd", "BYearBegin", "Week",
)  # fmt: skip


def unit_of(reso: object, what: str) -> str:
    """The unit string for a pickled NPY_DATETIMEUNIT number."""
    code = check_int(reso, what)
    if code not in UNITS:
        raise fail(what, reso, "unknown time resolution")
    return UNITS[code]


def zone_key(key: object, what: str) -> str:
    """A validated IANA zone name."""
    if type(key) is not str or len(key) > 64 or not _ZONE_KEY.fullmatch(key):
        raise fail(what, key, "not a time zone name")
    return key


def check_tz(tz: object, what: str) -> datetime.tzinfo | None:
    """A time zone this plugin (or the core's datetime emulators) built."""
    if tz is None or isinstance(tz, datetime.timezone):
        return tz
    module = type(tz).__module__
    if module in (
        "zoneinfo",
        "pytz",
        "pytz.tzinfo",
        "pytz.reference",
    ) or module.startswith("pytz"):
        return tz  # type: ignore[return-value]
    raise fail(what, tz, "not a time zone")


def _zoneinfo(key: object, from_cache: object = 1) -> object:
    import zoneinfo

    name = zone_key(key, "zoneinfo.ZoneInfo")
    return guarded("zoneinfo.ZoneInfo", lambda: zoneinfo.ZoneInfo(name))


def _pytz_zone(zone: object, *args: object) -> object:
    try:
        import pytz  # type: ignore[import-untyped]
    except ImportError as exc:  # the file's tz needs it, as pandas.read_pickle
        raise fail("pytz time zone", zone, "pytz is not installed") from exc
    name = zone_key(zone, "pytz time zone")
    tz: Any = guarded("pytz time zone", lambda: pytz.timezone(name))
    if len(args) == 3 and all(isinstance(a, int | str) for a in args):
        utcoffset, dst, tzname = args
        key = (
            datetime.timedelta(seconds=check_int(utcoffset, "pytz utcoffset")),
            datetime.timedelta(seconds=check_int(dst, "pytz dst")),
            tzname,
        )
        return getattr(tz, "_tzinfos", {}).get(key, tz)
    if args:
        raise fail("pytz time zone", args, "unexpected arguments")
    return tz


def _pytz_utc() -> object:
    try:
        import pytz
    except ImportError as exc:
        raise fail("pytz.utc", why="pytz is not installed") from exc
    return pytz.utc


def _timestamp(
    value: object, freq: object = None, tz: object = None, reso: object = 10
) -> object:
    ticks = check_int(value, "Timestamp value")
    unit = unit_of(reso, "Timestamp resolution")
    zone = check_tz(tz, "Timestamp tz")

    def build() -> object:
        stamp = pd.Timestamp(np.datetime64(ticks, unit))  # type: ignore[call-overload]
        return stamp if zone is None else stamp.tz_localize("UTC").tz_convert(zone)

    return guarded("Timestamp", build)


def _timedelta(value: object, reso: object = 10) -> object:
    ticks = check_int(value, "Timedelta value")
    unit = unit_of(reso, "Timedelta resolution")

    def build() -> object:
        return pd.Timedelta(np.timedelta64(ticks, unit))  # type: ignore[call-overload]

    return guarded("Timedelta", build)


def _nat(*args: object) -> object:
    return pd.NaT


def check_offset(value: object, what: str) -> object:
    """A DateOffset this plugin built (or None)."""
    if value is None or isinstance(value, pd.offsets.BaseOffset):
        return value
    raise fail(what, value, "not a date offset")


def _period(value: object, freq: object, ordinal: object) -> object:
    if value is not None:
        raise fail("Period", value, "expected (None, freq, ordinal)")
    offset = check_offset(freq, "Period freq")
    number = check_int(ordinal, "Period ordinal")
    return guarded("Period", lambda: pd.Period(ordinal=number, freq=offset))


_ENDPOINT = (int, float, np.integer, np.floating)


def _interval(left: object, right: object, closed: object = "right") -> object:
    sides = check_str(
        closed, "Interval closed", frozenset({"left", "right", "both", "neither"})
    )
    for end in (left, right):
        if not isinstance(end, (*_ENDPOINT, pd.Timestamp, pd.Timedelta)) or isinstance(
            end, bool
        ):
            raise fail(
                "Interval endpoint", end, "expected a number, Timestamp or Timedelta"
            )
    return guarded("Interval", lambda: pd.Interval(left, right, closed=sides))


def _offset_maker(name: str) -> PandasGlobal:
    cls = getattr(pd.offsets, name)

    def call(n: object = 1, normalize: object = False, *extra: object) -> object:
        count = check_int(n, f"{name} n")
        norm = check_bool(normalize, f"{name} normalize")
        if len(extra) > 1:
            raise fail(name, extra, "too many arguments")
        for item in extra:
            if item is not None and not isinstance(item, int | datetime.timedelta):
                raise fail(name, item, "expected an int or a timedelta")
        return guarded(name, lambda: cls(count, norm, *extra))

    def build(state: object) -> object:
        # Older pandas: NEWOBJ + a dict of the offset's attributes.
        if type(state) is not dict:
            raise fail(name, state, "expected a dict state")
        return call(state.get("n", 1), state.get("normalize", False))

    return PandasGlobal(f"pandas.offsets.{name}", call, build)


def register_scalars(registry: Registry) -> None:
    """Register the scalars, offsets and time zones."""
    g = PandasGlobal
    register_global(
        registry,
        ("pandas._libs.tslibs.timestamps._unpickle_timestamp",),
        g("Timestamp", _timestamp),
    )
    register_global(
        registry,
        ("pandas._libs.tslibs.timedeltas._timedelta_unpickle",),
        g("Timedelta", _timedelta),
    )
    nat = g("NaT", _nat)
    register_global(
        registry,
        (
            "pandas._libs.tslibs.nattype._nat_unpickle",
            "pandas._libs.tslibs.nattype.__nat_unpickle",
        ),
        nat,
    )
    registry.register("pandas", "NA", pd.NA)
    registry.register("pandas._libs.missing", "NA", pd.NA)
    registry.register("pandas", "NaT", pd.NaT)
    register_global(
        registry,
        ("pandas.Period", "pandas._libs.tslibs.period.Period"),
        g("Period", _period),
    )
    register_global(
        registry,
        ("pandas.Interval", "pandas._libs.interval.Interval"),
        g("Interval", _interval),
    )
    for name in OFFSETS:
        register_global(
            registry, (f"pandas._libs.tslibs.offsets.{name}",), _offset_maker(name)
        )
    zone = g("zoneinfo.ZoneInfo", _zoneinfo, tag="zoneinfo")
    register_global(
        registry, ("zoneinfo:ZoneInfo._unpickle", "zoneinfo.ZoneInfo"), zone
    )
    register_global(registry, ("pytz._p",), g("pytz time zone", _pytz_zone))
    register_global(registry, ("pytz._UTC",), g("pytz.utc", _pytz_utc))
