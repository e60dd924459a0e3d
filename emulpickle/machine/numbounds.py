"""Cheap size checks on numbers that emulators convert (``Limits.max_number_digits``).

Converting between bases (``int`` <-> ``str`` in a base that is not a power
of two, ``int`` <-> ``Decimal``), taking gcds and expanding a decimal
exponent all cost more than linear time in the number of digits: a 250 KB
integer turned into a ``Decimal`` takes seconds, ``int(Decimal("1e2000000"))``
minutes, from a 73-byte pickle. Emulators call these checks *before* such a
conversion. Each reads only lengths, bit lengths and exponents (never
converts the number it checks) and refuses with a
:class:`~emulpickle.LimitExceededError` whose ``limit`` is
``"max_number_digits"``.

``decimal`` and ``fractions`` are not imported here: a value can only be a
``Decimal`` or a ``Fraction`` once its module has been imported.
"""

from __future__ import annotations

import math
import sys

from ..errors import LimitExceededError
from .context import current_limits

__all__ = [
    "check_decimal_literal",
    "check_digits",
    "check_int",
    "check_number",
    "check_text",
    "int_digits",
    "is_exact_number",
]

_LIMIT = "max_number_digits"


def int_digits(value: int) -> int:
    """How many decimal digits ``value`` has, from its bit length (may be 1 over)."""
    # log10(2) = 0.30103 (rounded up): never under-counts.
    return value.bit_length() * 30103 // 100000 + 1


def check_digits(what: str, digits: int, kind: str = "a number") -> None:
    """Refuse converting ``kind`` of ``digits`` decimal digits if over the limit."""
    limit = current_limits().max_number_digits
    if digits > limit:
        raise LimitExceededError(
            f"{what}: {kind} of about {digits} digits is over the limit of "
            f"{limit} digits (Limits.max_number_digits)",
            limit=_LIMIT,
        )


def check_int(what: str, value: int) -> None:
    """Refuse an int with more than ``max_number_digits`` decimal digits."""
    check_digits(what, int_digits(value))


def check_text(what: str, text: str | bytes | bytearray, base: int = 10) -> None:
    """Refuse a numeric literal whose number could exceed ``max_number_digits`` digits.

    In base 10 or below the length bounds the decimal digits; a literal in
    a larger base makes more decimal digits than it has characters
    (``int("f" * 400, 16)`` has 482), so its length is scaled by
    ``log10(base)``. Base 0 reads a prefix, at most base 16. Literals that
    CPython's pickler writes are never close.
    """
    if base == 0:
        base = 16
    digits = len(text)
    if base > 10 and digits:
        digits = math.ceil(digits * math.log10(min(base, 36)))
    check_digits(what, digits, "a literal")


def check_decimal_literal(what: str, text: str) -> None:
    """Refuse a decimal literal that is too long or whose exponent expands too far.

    ``Fraction("1e20000000")`` computes ``10**20000000``; the exponent is
    read from the text (its digits counted before it is converted) and
    ``len(text) + |exponent|`` bounds the digits of the result.
    """
    check_text(what, text)
    head, sep, tail = text.lower().rpartition("e")
    if not sep or not head:
        return
    digits = tail.strip().lstrip("+-").replace("_", "").lstrip("0")
    if not digits.isdecimal():
        return  # not an exponent: the real parser rejects it
    limit = current_limits().max_number_digits
    if len(digits) > len(str(limit)):
        # Certainly over the limit; converting the exponent would be work too.
        raise LimitExceededError(
            f"{what}: a literal with a {len(digits)}-digit exponent is over the "
            f"limit of {limit} digits (Limits.max_number_digits)",
            limit=_LIMIT,
        )
    check_digits(what, len(text) + int(digits), "a literal expanding to a number")


def _integral_digits_of_decimal(value: object) -> int:
    """Digits of ``int(value)`` for a finite Decimal (0 for NaN, inf, |x| < 1)."""
    if not value.is_finite():  # type: ignore[attr-defined]
        return 0
    adjusted: int = value.adjusted()  # type: ignore[attr-defined]
    return max(adjusted + 1, 0)


def check_number(what: str, value: object) -> None:
    """Refuse an int, Decimal, Fraction or literal too large to convert cheaply.

    For a Decimal, what counts is the digits of its integral part (which
    ``int()`` expands, exponent included); for a Fraction, the digits of its
    numerator and denominator. Other values are not numbers this module
    knows and pass unchecked.
    """
    if isinstance(value, int):
        check_int(what, value)
    elif isinstance(value, (str, bytes, bytearray)):
        check_text(what, value)
    else:
        decimal = sys.modules.get("decimal")
        if decimal is not None and isinstance(value, decimal.Decimal):
            check_digits(what, _integral_digits_of_decimal(value))
            return
        fractions = sys.modules.get("fractions")
        if fractions is not None and isinstance(value, fractions.Fraction):
            check_int(what, value.numerator)
            check_int(what, value.denominator)


def is_exact_number(value: object) -> bool:
    """Whether ``value`` is an int, a Decimal or a Fraction (unbounded precision)."""
    if isinstance(value, int):
        return True
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(value, decimal.Decimal):
        return True
    fractions = sys.modules.get("fractions")
    return fractions is not None and isinstance(value, fractions.Fraction)
