"""Objects made here with the installed pandas, pickled at protocols 2-5
and compressed, load equal to the original (and to ``pandas.read_pickle``)."""

from __future__ import annotations

import datetime
import io
import pickle
import zoneinfo
from pathlib import Path
from typing import Any

import emulpickle_pandas
import numpy as np
import pytest
from pandas_helpers import assert_same, has_module, pd

import emulpickle


def _objects() -> dict[str, Any]:
    n = 5
    frame = pd.DataFrame(
        {
            "i": np.arange(n),
            "f": np.linspace(0, 1, n),
            "o": pd.Series(["a", None, 3, 4.5, "e"], dtype=object),
            "t": pd.date_range(
                "2022-03-26", periods=n, tz=zoneinfo.ZoneInfo("Europe/Berlin")
            ),
            "utc": pd.date_range("2022-01-01", periods=n, tz=datetime.timezone.utc),
            "cat": pd.Categorical(list("abcab"), categories=list("cba"), ordered=True),
            "Int": pd.array([1, None, 3, 4, 5], dtype="Int16"),
            "bool": pd.array([True, None, False, True, None], dtype="boolean"),
            "str": pd.array(["x", None, "z", "w", "v"], dtype="string"),
            "td": pd.to_timedelta(np.arange(n), unit="ms"),
            "per": pd.period_range("2021-01-01", periods=n, freq="D"),
            "iv": pd.interval_range(0.0, 5.0),
            "sp": pd.arrays.SparseArray([0.0, 1.0, 0.0, 0.0, 2.0]),
        },
        index=pd.Index(list("vwxyz"), name="key"),
    )
    frame.attrs = {"origin": "test", "n": n}
    return {
        "frame": frame,
        "frame_noncontiguous": frame[["i", "o", "f", "cat"]].copy(),
        "frame_multi_columns": pd.DataFrame(
            np.arange(12.0).reshape(3, 4),
            columns=pd.MultiIndex.from_product([["a", "b"], [1, 2]]),
        ),
        "frame_no_dups": pd.DataFrame({"a": [1]}).set_flags(
            allows_duplicate_labels=False
        ),
        "series_period_index": pd.Series(
            range(3), index=pd.period_range("2020Q1", periods=3, freq="Q")
        ),
        "series_interval_index": pd.Series(
            [1.0, 2.0], index=pd.IntervalIndex.from_breaks([0, 1, 3])
        ),
        "series_timedelta_index": pd.Series(
            [1, 2], index=pd.timedelta_range("1h", periods=2, freq="h")
        ),
        "series_block_sparse": pd.Series(
            pd.arrays.SparseArray([0, 0, 1, 1, 0], kind="block")
        ),
        "index_range": pd.RangeIndex(-10, 10, 4),
        "index_categorical": pd.CategoricalIndex(["x", "y", "x"], name="c"),
        "index_multi": pd.MultiIndex.from_arrays(
            [[1, 1, 2], ["a", "b", "a"]], names=["n", "s"]
        ),
        "index_datetime_freq": pd.date_range("2020-01-31", periods=3, freq="ME"),
    }


OBJECTS = _objects()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_round_trip(name: str, protocol: int) -> None:
    original = OBJECTS[name]
    data = pickle.dumps(original, protocol=protocol)
    got = emulpickle_pandas.read_pickle(io.BytesIO(data))
    assert_same(got, original)
    assert_same(got, pd.read_pickle(io.BytesIO(data)))


COMPRESSIONS = ["gzip", "bz2", "xz", "zip"] + (
    ["zstd"] if has_module("zstandard") else []
)


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_compressed_files(compression: str, tmp_path: Path) -> None:
    original = OBJECTS["frame"]
    suffix = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zip": ".zip", "zstd": ".zst"}[
        compression
    ]
    path = tmp_path / f"frame.pkl{suffix}"
    original.to_pickle(path)
    assert_same(emulpickle_pandas.read_pickle(path), original)
    assert_same(emulpickle_pandas.read_pickle(path, compression=compression), original)
    if compression != "zip":  # gzip & co are recognised by their contents too
        plain = tmp_path / "frame.bin"
        plain.write_bytes(path.read_bytes())
        assert_same(emulpickle_pandas.read_pickle(plain), original)


def test_compression_must_match(tmp_path: Path) -> None:
    path = tmp_path / "frame.pkl"
    OBJECTS["frame"].to_pickle(path)
    with pytest.raises(emulpickle.EmulationError, match="not compressed"):
        emulpickle_pandas.read_pickle(path, compression="gzip")
    with pytest.raises(ValueError):
        emulpickle_pandas.read_pickle(path, compression="rar")


def test_register_is_the_entry_point() -> None:
    registry = emulpickle.Registry(parent=emulpickle.default_registry())
    import emulpickle_numpy

    emulpickle_numpy.register(registry)
    emulpickle_pandas.register(registry)
    original = OBJECTS["frame"].drop(columns=["t"])
    data = pickle.dumps(original, protocol=5)
    assert_same(emulpickle.loads(data, registry=registry), original)
    # getattr (how pickle spells ZoneInfo._unpickle) is read_pickle's only:
    # scans keep reporting it.
    assert ("builtins", "getattr") not in set(registry.own_entries())
    assert ("builtins", "getattr") in set(
        emulpickle_pandas.pandas_registry().own_entries()
    )


ARROW = pytest.mark.skipif(not has_module("pyarrow"), reason="pyarrow is not installed")


@ARROW
@pytest.mark.parametrize("protocol", [2, 5])
@pytest.mark.parametrize(
    "dtype", ["string[pyarrow]", "int64[pyarrow]", "float64[pyarrow]", "bool[pyarrow]"]
)
def test_arrow_backed_round_trip(dtype: str, protocol: int) -> None:
    values = {
        "s": ["a", None, "ccc"],
        "i": [1, None, 3],
        "f": [1.5, None, 3.0],
        "b": [True, None, False],
    }
    original = pd.Series(
        values["s" if "string" in dtype else dtype[0]], dtype=dtype, name="arrow"
    )
    data = pickle.dumps(original, protocol=protocol)
    assert_same(emulpickle_pandas.read_pickle(io.BytesIO(data)), original)


@ARROW
def test_arrow_string_offsets_outside_the_data_are_refused() -> None:
    import pyarrow as pa

    good = pa.array(["ab", "c"], type=pa.large_string())
    offsets = good.buffers()[1]
    bad_offsets = pa.py_buffer(np.array([0, 2, 1 << 40], dtype="<i8").tobytes())
    series = pd.Series(["ab", "c"], dtype="string[pyarrow]")
    blob = pickle.dumps(series, protocol=5)
    # Same length: the pickle's offsets buffer is replaced byte for byte.
    assert offsets.to_pybytes() in blob
    blob = blob.replace(offsets.to_pybytes(), bad_offsets.to_pybytes())
    with pytest.raises(emulpickle.EmulationError, match="pyarrow"):
        emulpickle_pandas.read_pickle(io.BytesIO(blob))


@pytest.mark.parametrize("protocol", [2, 5])
def test_an_object_pickled_twice_is_real_both_times(protocol: int) -> None:
    frame = OBJECTS["frame_no_dups"]
    dtype = pd.CategoricalDtype(["x", "y"])  # one dtype object, two columns
    shared = pd.DataFrame(
        {
            "a": pd.Categorical(["x"], dtype=dtype),
            "b": pd.Categorical(["y"], dtype=dtype),
        }
    )
    data = pickle.dumps(
        [frame, (frame, [frame]), {"k": frame}, shared], protocol=protocol
    )
    got = emulpickle_pandas.read_pickle(io.BytesIO(data))
    for item in (got[0], got[1][0], got[1][1][0], got[2]["k"]):
        assert_same(item, frame)
    assert_same(got[3], shared)
