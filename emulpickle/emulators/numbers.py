"""Emulators for ``decimal.Decimal`` and ``fractions.Fraction``.

Their arguments are bounded by the machine's number limits
(``Limits.max_number_digits``): parsing is linear, but a huge number makes
every later conversion or gcd slow. ``decimal`` and ``fractions`` are
imported only when a pickle needs them. Imports ``base``, the machine's
``numbounds`` and the bottom layer.
"""

from __future__ import annotations

from .._render import bounded_repr
from ..machine.numbounds import check_decimal_literal, check_int, check_text
from .base import Entry, StdlibEmulator, arity, entries_of, exact_ints, fail, guard

__all__ = ["entries"]


def _decimal(*args: object) -> object:
    import decimal

    what = "decimal.Decimal"
    arity(what, args, 0, 1)
    value = args[0] if args else "0"
    if type(value) is str:
        # Parsing is linear, but the number is kept for int() and arithmetic.
        check_text(what, value)
    elif type(value) is int:
        check_int(what, value)  # int -> Decimal is a base conversion
    else:
        raise fail(what, f"expected a str or int, not {type(value).__name__}")
    try:
        return decimal.Decimal(value)
    except decimal.InvalidOperation:
        raise fail(
            what, f"invalid literal {bounded_repr(value, max_chars=60)}"
        ) from None


def _fraction(*args: object) -> object:
    import fractions

    what = "fractions.Fraction"
    arity(what, args, 0, 2)
    if len(args) == 1 and type(args[0]) is str:
        text = args[0]
        check_decimal_literal(what, text)  # "1e20000000" is 10**20000000
        return guard(what, lambda: fractions.Fraction(text))
    numbers = exact_ints(what, args)
    for number in numbers:
        check_int(what, number)  # the gcd is super-linear
    if len(numbers) == 2 and numbers[1] == 0:
        raise fail(what, "zero denominator")
    return guard(what, lambda: fractions.Fraction(*numbers))


def entries() -> list[Entry]:
    """The emulators of this family."""
    return entries_of(
        [
            StdlibEmulator("decimal", "Decimal", _decimal),
            StdlibEmulator("fractions", "Fraction", _fraction),
        ]
    )
