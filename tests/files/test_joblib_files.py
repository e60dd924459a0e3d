"""joblib files through ``emulpickle.open_file`` and the CLI: written by
``joblib.dump`` here, read back equal to ``joblib.load`` (safe to call only
because the test wrote the file itself)."""

from __future__ import annotations

import pickletools
from pathlib import Path
from typing import Any

import pytest

import emulpickle
from emulpickle.cli import main

joblib = pytest.importorskip("joblib")
np = pytest.importorskip("numpy")
pytest.importorskip("emulpickle_numpy")

COMPRESSIONS: list[Any] = [
    0,
    3,
    ("zlib", 3),
    ("gzip", 3),
    ("bz2", 3),
    ("xz", 3),
    ("lzma", 3),
]
# lz4 (joblib's optional compressor, read with the lz4 package): see
# test_joblib_more.py.


def _arrays() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    return {
        "f32": rng.random(17, dtype=np.float32),
        "i64": np.arange(-5, 7, dtype=np.int64).reshape(3, 4),
        "bool": np.array([True, False, True]),
        "c128": np.array([1 + 2j, -3.5j]),
        "dt": np.array(["2020-01-01", "2021-06-30"], dtype="datetime64[D]"),
        "td": np.array([1, 2], dtype="timedelta64[s]"),
        "rec": np.array(
            [(1, 2.5, b"ab")], dtype=[("a", "<i4"), ("b", "<f8"), ("c", "S2")]
        ),
        "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "zero_d": np.array(7.5),
        "empty": np.zeros((0, 3), dtype=np.int16),
        "text": np.array(["ab", "xyz"]),
        "objects": np.array([1, "two", None, [3]], dtype=object),
        "mixed": [1, 2.5, "s", b"b", None, (True, {"k": np.float64(1.5)})],
    }


def _assert_equal(got: Any, want: Any) -> None:
    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
        assert got.flags.f_contiguous == want.flags.f_contiguous
    elif isinstance(want, dict):
        assert got.keys() == want.keys()
        for key in want:
            _assert_equal(got[key], want[key])
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            _assert_equal(a, b)
    else:
        assert got == want and type(got) is type(want)


@pytest.mark.parametrize("compress", COMPRESSIONS, ids=str)
def test_every_compression_loads_like_joblib(tmp_path: Path, compress: Any) -> None:
    path = tmp_path / "data.joblib"
    joblib.dump(_arrays(), path, compress=compress)
    opened = emulpickle.open_file(path)
    assert opened.format == "joblib"
    want = joblib.load(path)
    _assert_equal(opened.value, want)
    # The same bytes from memory give the same arrays (copied).
    _assert_equal(emulpickle.open_file(path.read_bytes()).value, want)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_protocols(tmp_path: Path, protocol: int) -> None:
    path = tmp_path / "data.joblib"
    joblib.dump(_arrays(), path, protocol=protocol)
    _assert_equal(emulpickle.open_file(path).value, joblib.load(path))


def test_uncompressed_arrays_are_read_only_views_of_a_map(tmp_path: Path) -> None:
    path = tmp_path / "data.joblib"
    big = np.arange(1000.0)
    joblib.dump({"big": big}, path)
    got = emulpickle.open_file(path).value["big"]
    mapped = joblib.load(path, mmap_mode="r")["big"]
    assert not got.flags.writeable
    assert got.flags.writeable == mapped.flags.writeable
    np.testing.assert_array_equal(got, big)
    # From bytes in memory, or compressed: copies, writable as joblib.load's.
    copied = emulpickle.open_file(path.read_bytes()).value["big"]
    assert copied.flags.writeable


def test_sklearn_estimator_loads_as_generic_objects(tmp_path: Path) -> None:
    linear = pytest.importorskip("sklearn.linear_model")
    model = linear.LogisticRegression().fit(
        np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]), [0, 1, 1, 0]
    )
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    # Without the scikit-learn plugin (with it, a real estimator loads).
    registry = emulpickle.Registry.with_plugins("numpy")
    value = emulpickle.open_file(path, unknown="generic", registry=registry).value
    assert isinstance(value, emulpickle.GenericObject)
    state = value.state
    assert isinstance(state, dict)
    np.testing.assert_array_equal(state["coef_"], model.coef_)
    assert isinstance(state["coef_"], np.ndarray)
    with pytest.raises(emulpickle.ForbiddenGlobalError):
        # unknown="error": the estimator class
        emulpickle.open_file(path, registry=registry)


def test_cli_show_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump({"coef": np.arange(3.0), "name": "m"}, path, compress=3)
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "coef" in out and "float64" in out
    assert main(["json", str(path)]) == 0
    assert '"coef"' in capsys.readouterr().out


def test_array_data_cut_from_the_stream_is_checked(tmp_path: Path) -> None:
    """A wrapper whose shape disagrees with its data is refused."""
    path = tmp_path / "data.joblib"
    joblib.dump({"a": np.arange(2, dtype=np.int64)}, path, protocol=2)
    data = path.read_bytes()
    shape = b"K\x02\x85"  # BININT1 2, TUPLE1
    assert data.count(shape) == 1
    # (4,) with 16 bytes of data: the walker sees 32 bytes past the data.
    path.write_bytes(data.replace(shape, b"K\x04\x85"))
    with pytest.raises(emulpickle.UnpicklingError, match="runs past the end"):
        emulpickle.open_file(path)


def test_plain_pickle_naming_joblib_still_loads(tmp_path: Path) -> None:
    value = {"note": "joblib.numpy_pickle"}
    path = tmp_path / "p.pkl"
    joblib.dump(value, path)
    assert emulpickle.open_file(path).value == value


def nested_pickle_span(data: bytes) -> tuple[int, int]:
    """Where the nested pickle of a joblib stream holding one object array
    is: its PROTO, right after the wrapper's BUILD, up to its own STOP."""
    start = -1
    for op, _arg, pos in pickletools.genops(data):
        if op.name == "PROTO" and pos > 0 and start < 0:
            start = pos
        elif op.name == "STOP":
            return start, pos + 1
    raise AssertionError("no STOP")


def test_nested_span_helper(tmp_path: Path) -> None:
    path = tmp_path / "o.joblib"
    joblib.dump(np.array([None], dtype=object), path, protocol=2)
    data = path.read_bytes()
    start, end = nested_pickle_span(data)
    assert data[start : start + 1] == b"\x80" and data[end - 1 : end] == b"."
    assert end < len(data)
