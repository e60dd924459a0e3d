"""Property tests: random arrays round-trip; mutated pickles fail cleanly."""

from __future__ import annotations

import contextlib
import pickle
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy_helpers import assert_same, emulate

import emulpickle

DTYPES = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(endianness="?"),
    hnp.unsigned_integer_dtypes(endianness="?"),
    hnp.floating_dtypes(endianness="?"),
    hnp.complex_number_dtypes(endianness="?"),
    hnp.datetime64_dtypes(endianness="?"),
    hnp.timedelta64_dtypes(endianness="?"),
    hnp.byte_string_dtypes(max_len=5),
    hnp.unicode_string_dtypes(endianness="?", max_len=5),
)
STRUCTS = hnp.array_dtypes(subtype_strategy=DTYPES, min_size=1, max_size=3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    arr=hnp.arrays(
        dtype=st.one_of(DTYPES, STRUCTS),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    ),
    protocol=st.sampled_from([2, 3, 4, 5]),
    fortran=st.booleans(),
)
def test_random_arrays_round_trip(arr: Any, protocol: int, fortran: bool) -> None:
    if fortran:
        arr = np.asfortranarray(arr)
    data = pickle.dumps(arr, protocol)
    assert_same(emulate(data), pickle.loads(data))


SAMPLES = [
    np.arange(6, dtype=">i4").reshape(2, 3),
    np.zeros(2, dtype=[("a", "i1"), ("b", "f8", (2,))]),
    np.array([1, "x"], dtype=object),
    np.float32(2.5),
    np.array(["2020-01-01"], dtype="M8[D]"),
]


@pytest.mark.parametrize("protocol", [2, 5])
@pytest.mark.parametrize("sample", range(len(SAMPLES)))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_mutated_pickles_fail_cleanly(sample: int, protocol: int, data: Any) -> None:
    raw = bytearray(pickle.dumps(SAMPLES[sample], protocol))
    for _ in range(data.draw(st.integers(1, 3))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    with contextlib.suppress(emulpickle.UnpicklingError):
        emulate(bytes(raw))
