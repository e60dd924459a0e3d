"""BINFLOAT decoding is bit-exact for every double, NaN payloads included."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

import emulpickle


@settings(max_examples=2000, deadline=None)
@given(bits=st.binary(min_size=8, max_size=8))
def test_every_bit_pattern_round_trips(bits: bytes) -> None:
    data = b"\x80\x04G" + bits + b"."
    value = emulpickle.loads(data)
    assert type(value) is float
    assert struct.pack(">d", value) == bits


def test_edges() -> None:
    for value in (0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e308):
        bits = struct.pack(">d", value)
        assert struct.pack(">d", emulpickle.loads(b"G" + bits + b".")) == bits
