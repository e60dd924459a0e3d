"""Numbers and codecs in the builtin stand-ins and stdlib emulators.

What pickles really do still works (CPython's protocol 0-2 ``bytes`` and
``bytearray``, str subclasses, Decimals, Fractions); what only an attacker
needs is refused: long numbers (``Limits.max_number_digits``), codecs that are
not linear text codecs, error handlers that are not CPython's own, and
``str()`` of anything but text, numbers and bytes with an encoding.
"""

from __future__ import annotations

import codecs
import decimal
import fractions
import pickle
from typing import Any

import pytest
from helpers.reduce_call import Call

import emulpickle


def load(func: Any, *args: Any, **options: Any) -> Any:
    return emulpickle.loads(pickle.dumps(Call(func, *args), 4), **options)


def refused_digits(func: Any, *args: Any, **options: Any) -> str:
    with pytest.raises(emulpickle.LimitExceededError) as info:
        load(func, *args, **options)
    assert info.value.limit == "max_number_digits"
    return str(info.value)


# ---------------------------------------------------------------- codecs

ALLOWED = [
    "utf-8", "UTF8", "u8", "utf_8_sig", "UTF-16-LE", "utf-32", "latin-1", "Latin1",
    "ISO-8859-1", "iso8859_1", "L1", "ascii", "US-ASCII", "raw_unicode_escape",
    "unicode-escape",
]  # fmt: skip
REFUSED = [
    "punycode", "idna", "zlib", "zlib_codec", "bz2", "hex", "base64", "rot13",
    "utf-7", "cp1252", "mbcs", "utf-8" + " " * 40, "no such codec",
]  # fmt: skip


def test_only_linear_text_codecs_are_allowed() -> None:
    # What CPython's pickler writes (protocols 0-2: _codecs.encode(..., "latin1")
    # and bytearray(..., "latin-1")) keeps working.
    for protocol in range(6):
        value = [b"\x00\xff abc", bytearray(b"\x00\xffxyz"), b""]
        assert emulpickle.loads(pickle.dumps(value, protocol)) == value
    for name in ALLOWED:
        text = "e\\" if "ascii" in name.lower() else "é\\"
        expected = text.encode(name)
        assert load(bytes, text, name) == expected
        assert load(bytearray, text, name) == bytearray(expected)
        assert load(str, expected, name) == text
        assert load(codecs.encode, text, name) == expected
    for name in REFUSED:
        for func, arg in ((bytes, "ab"), (bytearray, "ab"), (str, b"ab")):
            with pytest.raises(emulpickle.EmulationError, match="is not allowed"):
                load(func, arg, name)
        with pytest.raises(emulpickle.EmulationError, match="is not allowed"):
            load(codecs.encode, "ab", name)


def test_error_handlers_are_cpythons_own() -> None:
    calls: list[object] = []

    def handler(exc: UnicodeError) -> tuple[str, int]:
        calls.append(exc)
        return "?", exc.end  # type: ignore[attr-defined]

    codecs.register_error("emulpickle_test_handler", handler)
    for func, arg in ((bytes, "é"), (bytearray, "é"), (str, b"\xff")):
        with pytest.raises(emulpickle.EmulationError, match="error handler"):
            load(func, arg, "ascii", "emulpickle_test_handler")
    assert calls == []
    assert load(bytes, "é", "ascii", "xmlcharrefreplace") == b"&#233;"
    assert load(str, b"a\xffb", "utf-8", "replace") == "a\ufffdb"


# ---------------------------------------------------------------- str()


def test_str_of_text_numbers_and_encoded_bytes_only() -> None:
    assert load(str) == ""
    assert load(str, "abc") == "abc"
    assert load(str, 10**100) == str(10**100)
    assert load(str, 1.5) == "1.5"
    assert load(str, None) == "None"
    assert load(str, Call(decimal.Decimal, "1.50")) == "1.50"
    assert load(str, Call(fractions.Fraction, 3, 4)) == "3/4"
    # copyreg._reconstructor(cls, str, state) goes through the str stand-in.
    data = b"ccopyreg\n_reconstructor\n(cbuiltins\nstr\ncbuiltins\nstr\nVab\ntR."
    assert emulpickle.loads(data) == "ab"
    for value in ([1, 2], (1,), {"a": 1}, {1}, b"ab", bytearray()):
        with pytest.raises(emulpickle.EmulationError, match="is not emulated"):
            load(str, value)


# ---------------------------------------------------------------- numbers


def test_numbers_convert_up_to_the_limit() -> None:
    assert load(int, "ff", 16) == 255
    assert load(int, "-12") == -12
    assert load(int, Call(decimal.Decimal, "12.9")) == 12
    assert load(int, Call(fractions.Fraction, 7, 2)) == 3
    assert load(decimal.Decimal, "1.5e-300") == decimal.Decimal("1.5e-300")
    assert load(decimal.Decimal, 10**9000) == decimal.Decimal(10**9000)
    assert load(fractions.Fraction, "3/4") == fractions.Fraction(3, 4)
    assert load(fractions.Fraction, "1.5e9990") == fractions.Fraction("1.5e9990")
    assert load(fractions.Fraction, 10**9000, 3) == fractions.Fraction(10**9000, 3)
    # A Decimal may hold any exponent; only expanding it is bounded.
    assert load(decimal.Decimal, "1e2000000") == decimal.Decimal("1e2000000")
    assert load(int, 10**100_000) == 10**100_000  # an int passes through as is
    message = refused_digits(int, Call(decimal.Decimal, "1e10000"))
    assert "Limits.max_number_digits" in message
    refused_digits(int, "7" * 10_001, 36)
    refused_digits(int, b"7" * 10_001)
    refused_digits(decimal.Decimal, "7" * 10_001)
    refused_digits(decimal.Decimal, 10**10_001)
    refused_digits(fractions.Fraction, "1.5e9995")
    refused_digits(fractions.Fraction, "1e-99999")
    refused_digits(fractions.Fraction, 1, 10**10_001)
    refused_digits(str, 10**10_001)


def test_the_limit_is_configurable() -> None:
    small = emulpickle.Limits(max_number_digits=50)
    refused_digits(int, "7" * 51, limits=small)
    refused_digits(fractions.Fraction, "1e50", limits=small)
    assert load(int, "7" * 50, limits=small) == int("7" * 50)
    big = emulpickle.Limits(max_number_digits=20_000)
    assert load(fractions.Fraction, "1e15000", limits=big) == 10**15000


def test_huge_range_is_refused_as_an_allocation() -> None:
    with pytest.raises(emulpickle.LimitExceededError) as info:
        load(list, range(2**80))
    assert info.value.limit == "max_emulator_alloc"
