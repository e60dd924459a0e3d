"""Property: random small frames (numeric, nullable, categorical, string
and datetime columns; random index kinds) pickled at any protocol load
equal to the original."""

from __future__ import annotations

import io
import pickle
from typing import Any

import emulpickle_pandas
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas_helpers import assert_same, pd

KINDS = [
    "i8",
    "f4",
    "u1",
    "bool",
    "Int32",
    "boolean",
    "category",
    "string",
    "object",
    "dt-tz",
    "td",
]


def _column(kind: str, rng: np.random.Generator, n: int) -> Any:
    ints = rng.integers(-5, 5, n)
    if kind in ("i8", "f4", "u1"):
        return (ints % 5 if kind == "u1" else ints).astype(kind)
    if kind == "bool":
        return ints > 0
    if kind in ("Int32", "boolean"):
        values = pd.array(ints if kind == "Int32" else ints > 0, dtype=kind)
        values[ints == 0] = pd.NA
        return values
    if kind == "category":
        return pd.Categorical.from_codes(ints % 4 - 1, categories=list("abc"))
    if kind in ("string", "object"):
        return pd.array(
            [None if i == 0 else f"s{i}" for i in ints],
            dtype=kind if kind == "string" else object,
        )
    if kind == "dt-tz":
        return pd.to_datetime(ints, unit="D").tz_localize("UTC")
    return pd.to_timedelta(ints, unit="s")


@settings(max_examples=30, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(KINDS), max_size=6),
    n=st.integers(0, 6),
    seed=st.integers(0, 2**32 - 1),
    protocol=st.integers(2, 5),
    index=st.sampled_from(["range", "str", "int", "multi"]),
)
def test_random_frames_round_trip(
    kinds: list[str], n: int, seed: int, protocol: int, index: str
) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"c{i}": _column(k, rng, n) for i, k in enumerate(kinds)})
    if index == "str":
        frame.index = pd.Index([f"r{i}" for i in range(n)], dtype=object)
    elif index == "int":
        frame.index = pd.Index(rng.integers(0, 100, n))
    elif index == "multi":
        frame.index = pd.MultiIndex.from_arrays(
            [np.arange(n) % 2, [f"k{i}" for i in range(n)]]
        )
    data = pickle.dumps(frame, protocol=protocol)
    assert_same(emulpickle_pandas.read_pickle(io.BytesIO(data)), frame)
    if kinds:
        series = frame.iloc[:, 0]
        data = pickle.dumps(series, protocol=protocol)
        assert_same(emulpickle_pandas.read_pickle(io.BytesIO(data)), series)
