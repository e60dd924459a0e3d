"""Fuzz every numeric emulator with numbers of huge digit counts and exponents.

Each pickle calls one emulator that takes numbers (``int``, ``float``,
``complex``, ``str``, ``bytes``, ``Decimal``, ``Fraction``, the datetime
types, ``UUID``, ``ipaddress``, ``array``, ``deque``, ``range``, ``slice``)
with literals, ints, Decimals and Fractions whose size runs up to 20x the
limit. The load must end in a result or an :class:`emulpickle.UnpicklingError`,
and whatever it returns is bounded: no number in it has more digits than
``max_number_digits`` or the largest int the pickle itself carried (ints
pass through unchanged). A small limit keeps the old, unbounded code fast
enough to fail rather than hang.
"""

from __future__ import annotations

import array
import collections
import datetime
import decimal
import fractions
import ipaddress
import pickle
import re
import uuid
from typing import Any

from helpers.reduce_call import Call
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import emulpickle

LIMIT = 400
LIMITS = emulpickle.Limits(max_number_digits=LIMIT)


sizes = st.one_of(
    st.integers(0, 30),
    st.integers(LIMIT - 5, LIMIT + 5),
    st.integers(0, 20 * LIMIT),
)
digit_runs = st.builds(lambda d, n: d * n, st.sampled_from("0179"), sizes)
signs = st.sampled_from(["", "-", "+"])


@st.composite
def literals(draw: st.DrawFn) -> str:
    """Decimal literals: long digits, long fractions, big exponents, ratios."""
    text: str = draw(signs) + "1" + draw(digit_runs)
    if draw(st.booleans()):
        text += "." + draw(digit_runs)
    tail = draw(st.sampled_from(["", "e", "E", "/", "_"]))
    if tail in ("e", "E"):
        text += tail + draw(signs) + str(draw(sizes))
    elif tail == "/":
        text += "1" + draw(digit_runs)
    elif tail == "_":
        text += "_" + (draw(digit_runs)[:50] or "0")
    return text


ints = st.one_of(
    st.integers(-(10**6), 10**6),
    st.builds(lambda n, s: s * (10**n - 1), sizes, st.sampled_from([1, -1])),
    st.builds(lambda b: (1 << b) + 7, st.integers(0, 70 * LIMIT)),
)
numbers: st.SearchStrategy[Any] = st.one_of(
    ints,
    literals(),
    literals().map(lambda t: t.encode()),
    st.floats(allow_nan=True, allow_infinity=True),
    literals().map(lambda t: Call(decimal.Decimal, t)),
    ints.map(lambda n: Call(decimal.Decimal, n)),
    st.tuples(ints, ints).map(lambda p: Call(fractions.Fraction, *p)),
    literals().map(lambda t: Call(fractions.Fraction, t)),
)

TARGETS: list[tuple[Any, int, int]] = [
    (int, 1, 1), (float, 1, 1), (complex, 1, 2), (str, 1, 1), (bool, 1, 1),
    (bytes, 1, 1), (bytearray, 1, 1), (range, 1, 3), (slice, 1, 3),
    (decimal.Decimal, 1, 1), (fractions.Fraction, 1, 2),
    (datetime.date, 3, 3), (datetime.time, 1, 4), (datetime.datetime, 3, 7),
    (datetime.timedelta, 1, 3), (uuid.UUID, 1, 1), (ipaddress.IPv4Address, 1, 1),
    (ipaddress.IPv6Network, 1, 1), (collections.deque, 2, 2),
]  # fmt: skip


@st.composite
def calls(draw: st.DrawFn) -> tuple[Any, tuple[Any, ...]]:
    func, low, high = draw(st.sampled_from(TARGETS))
    args = tuple(draw(numbers) for _ in range(draw(st.integers(low, high))))
    if func is int and draw(st.booleans()):
        args = (draw(literals()), draw(st.sampled_from([0, 2, 10, 16, 36])))
    if func is collections.deque:
        args = ([], args[1])
    return func, args


def _digits(value: Any) -> int:
    """Decimal digits of the largest number in ``value`` (0 for non-numbers)."""
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return value.bit_length() * 30103 // 100000 + 1
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return 0
        # A Decimal holds its exponent without expanding it: only the
        # coefficient's digits were converted.
        return len(value.as_tuple().digits)
    if isinstance(value, fractions.Fraction):
        return max(_digits(value.numerator), _digits(value.denominator))
    if isinstance(value, (str, bytes, bytearray)):
        # The longest number written in the text: str(Fraction(a, b)) is
        # "a/b", two numbers each within the bound, not one of their total.
        text = value if isinstance(value, str) else bytes(value).decode("latin-1")
        return max((len(run) for run in re.findall(r"[0-9a-zA-Z]+", text)), default=0)
    if isinstance(value, (range, slice)):
        return max(_digits(value.start), _digits(value.stop), _digits(value.step))
    if isinstance(value, Call):
        return max((_digits(arg) for arg in value.args), default=0)
    return 0


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(calls())
@example((int, (Call(decimal.Decimal, "1e8000"),)))
@example((fractions.Fraction, ("1e8000",)))
@example((fractions.Fraction, ("1.5e-8000",)))
@example((decimal.Decimal, (10**8000 + 1,)))
@example((str, (10**8000 + 1,)))
@example((int, ("z" * 8000, 36)))
@example((int, ("1" + "0" * 399, 16)))
@example((int, ("0x" + "f" * 390, 0)))
@example((array.array, ("d", [Call(decimal.Decimal, "1e8000")])))
def test_numeric_emulators_stay_bounded(call: tuple[Any, tuple[Any, ...]]) -> None:
    func, args = call
    data = pickle.dumps(Call(func, *args), 4)
    try:
        result = emulpickle.loads(data, limits=LIMITS)
    except emulpickle.UnpicklingError:
        return
    if isinstance(result, (bytes, bytearray)):
        return  # bytes(n) is bounded by max_emulator_alloc, not by digits
    carried = max((_digits(arg) for arg in args), default=0)
    # A literal of L characters may expand by its exponent, both within LIMIT.
    assert _digits(result) <= max(LIMIT, carried) + 2, (func, result)
