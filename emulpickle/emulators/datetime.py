"""Emulators for ``datetime``: date, time, datetime, timedelta, timezone.

Both forms CPython pickles are accepted: the packed state bytes (also as a
latin-1 str from Python 2 pickles) and the plain numbers. Imports only
``base`` and the standard library.
"""

from __future__ import annotations

import datetime
from typing import Any

from .base import (
    Entry,
    StdlibEmulator,
    arity,
    entries_of,
    exact_ints,
    exact_str,
    fail,
    guard,
)

__all__ = ["entries"]


def _state_bytes(what: str, state: object, size: int) -> bytes:
    """The packed state; a str (Python 2 pickle, encoding="latin1") is re-encoded."""
    if type(state) is str:
        try:
            state = state.encode("latin-1")
        except UnicodeEncodeError:
            raise fail(what, "state string is not latin-1") from None
    if type(state) is not bytes or len(state) != size:
        raise fail(what, f"state must be {size} bytes")
    return state


def _tzinfo(what: str, args: tuple[object, ...], index: int) -> Any:
    tz = args[index] if len(args) > index else None
    if tz is not None and not isinstance(tz, datetime.tzinfo):
        raise fail(what, f"tzinfo must be a tzinfo, not {type(tz).__name__}")
    return tz


def _date(*args: object) -> object:
    what = "datetime.date"
    arity(what, args, 1, 3)
    if type(args[0]) in (bytes, str):
        arity(what, args, 1, 1)
        b = _state_bytes(what, args[0], 4)
        return guard(what, lambda: datetime.date(b[0] << 8 | b[1], b[2], b[3]))
    numbers = exact_ints(what, args)
    return guard(what, lambda: datetime.date(*numbers))


def _time(*args: object) -> object:
    what = "datetime.time"
    arity(what, args, 0, 5)
    if args and type(args[0]) in (bytes, str):
        arity(what, args, 1, 2)
        b = _state_bytes(what, args[0], 6)
        tz = _tzinfo(what, args, 1)
        hour, fold = b[0] & 0x7F, b[0] >> 7
        micro = b[3] << 16 | b[4] << 8 | b[5]
        return guard(
            what, lambda: datetime.time(hour, b[1], b[2], micro, tz, fold=fold)
        )
    tz = None
    if len(args) == 5 or (args and not isinstance(args[-1], int)):
        tz = _tzinfo(what, args, len(args) - 1)
        args = args[:-1]
    numbers = exact_ints(what, args)
    make: Any = datetime.time
    return guard(what, lambda: make(*numbers, tzinfo=tz))


def _datetime(*args: object) -> object:
    what = "datetime.datetime"
    arity(what, args, 1, 8)
    if type(args[0]) in (bytes, str):
        arity(what, args, 1, 2)
        b = _state_bytes(what, args[0], 10)
        tz = _tzinfo(what, args, 1)
        month, fold = b[2] & 0x7F, b[2] >> 7
        micro = b[7] << 16 | b[8] << 8 | b[9]
        return guard(
            what,
            lambda: datetime.datetime(
                b[0] << 8 | b[1], month, b[3], b[4], b[5], b[6], micro, tz, fold=fold
            ),
        )
    tz = None
    if len(args) == 8 or not isinstance(args[-1], int):
        tz = _tzinfo(what, args, len(args) - 1)
        args = args[:-1]
    numbers = exact_ints(what, args)
    make: Any = datetime.datetime
    return guard(what, lambda: make(*numbers, tzinfo=tz))


def _timedelta(*args: object) -> object:
    what = "datetime.timedelta"
    arity(what, args, 0, 3)
    numbers = exact_ints(what, args)
    return guard(what, lambda: datetime.timedelta(*numbers))


def _timezone(*args: object) -> object:
    what = "datetime.timezone"
    arity(what, args, 1, 2)
    offset = args[0]
    if type(offset) is not datetime.timedelta:
        raise fail(what, f"offset must be a timedelta, not {type(offset).__name__}")
    if len(args) == 1:
        return guard(what, lambda: datetime.timezone(offset))
    name = exact_str(what, args[1])
    return guard(what, lambda: datetime.timezone(offset, name))


def entries() -> list[Entry]:
    """The emulators of this family."""
    return entries_of(
        [
            StdlibEmulator("datetime", "date", _date),
            StdlibEmulator("datetime", "time", _time),
            StdlibEmulator("datetime", "datetime", _datetime),
            StdlibEmulator("datetime", "timedelta", _timedelta),
            StdlibEmulator("datetime", "timezone", _timezone),
        ]
    )
