"""Arrays, scalars and dtypes load exactly as ``pickle.loads`` loads them."""

from __future__ import annotations

import io
import pickle
import struct
from typing import Any

import numpy as np
import pytest
from numpy_helpers import assert_same, emulate, roundtrip

import emulpickle

PROTOCOLS = [0, 1, 2, 3, 4, 5]

STRUCTURED = np.dtype(
    [
        ("a", ">i4"),
        ("b", "<f8", (2, 3)),
        ("c", [("x", "u1"), ("y", "S3"), ("z", "<U2")]),
        ("d", "?"),
    ]
)
ALIGNED = np.dtype([("a", "i1"), ("b", "i8"), ("c", "f4")], align=True)
TITLED = np.dtype(
    {
        "names": ["a", "b"],
        "formats": ["i1", ">i8"],
        "offsets": [0, 8],
        "itemsize": 24,
        "titles": ["Title A", None],
    }
)

DTYPES = [
    "?",
    "i1",
    "i2",
    "i4",
    "i8",
    "u1",
    "u2",
    "u4",
    "u8",
    "f2",
    "f4",
    "f8",
    "c8",
    "c16",
    ">i2",
    ">i8",
    ">u4",
    ">f4",
    ">f8",
    ">c16",
    "<U5",
    ">U3",
    "S4",
    "V6",
    "M8[ns]",
    "M8[D]",
    ">M8[3us]",
    "m8[s]",
    "m8[25ms]",
    "m8",
    "O",
    STRUCTURED,
    ALIGNED,
    TITLED,
    np.dtype(("i4", (2, 2))),
    np.dtype("i8", metadata={"unit": "m"}),
    np.dtype([("obj", "O"), ("n", "i4")]),
]


ARRAY_DTYPES = [d for d in DTYPES if np.dtype(d).subdtype is None]


def _ids(value: Any) -> str:
    return str(value) if isinstance(value, str) else np.dtype(value).str + "-struct"


def make_array(dtype: Any, shape: tuple[int, ...] = (3, 4)) -> np.ndarray[Any, Any]:
    """A deterministic, non-trivial array of ``dtype`` (via its bytes)."""
    dt = np.dtype(dtype)
    count = int(np.prod(shape))
    if dt.hasobject:
        arr = np.empty(shape, dt)
        flat = arr.reshape(-1)
        for i in range(count):
            if dt.names:
                flat[i] = (["item", i, {"k": i}], i)
            else:
                flat[i] = ("item", i, {"k": i}, None) if i % 2 else f"s{i}"
        return arr
    raw = bytes((i * 37 + 11) % 251 for i in range(count * dt.itemsize))
    arr = np.frombuffer(raw, dtype=dt).reshape(shape).copy()
    if dt.kind in "fc":
        arr[np.isnan(arr)] = 0
    if dt.kind == "U":
        arr = np.full(shape, "aé", dtype=dt)
    return arr


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("dtype", ARRAY_DTYPES, ids=_ids)
@pytest.mark.parametrize("layout", ["C", "F", "sliced", "0d", "empty"])
def test_arrays_match_pickle(dtype: Any, layout: str, protocol: int) -> None:
    arr = make_array(dtype, (4, 6))
    if layout == "F":
        arr = np.asfortranarray(arr)
    elif layout == "sliced":
        arr = arr[::2, 1::2]
    elif layout == "0d":
        arr = arr.reshape(-1)[5:6].reshape(())
    elif layout == "empty":
        arr = arr[:0]
    got, want = roundtrip(arr, protocol)
    assert_same(got, want)
    assert isinstance(got, np.ndarray)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("dtype", ["i4", ">f8", "O", "U3", "M8[ms]"])
def test_all_protocols(dtype: str, protocol: int) -> None:
    got, want = roundtrip(make_array(dtype, (2, 3)), protocol)
    assert_same(got, want)


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_dtypes_alone(dtype: Any, protocol: int) -> None:
    got, want = roundtrip(np.dtype(dtype), protocol)
    assert_same(got, want)


SCALARS = [
    np.bool_(True),
    np.int8(-5),
    np.int16(300),
    np.int32(-70000),
    np.int64(2**40),
    np.uint8(250),
    np.uint16(65000),
    np.uint32(4_000_000_000),
    np.uint64(2**63 + 5),
    np.float16(1.5),
    np.float32(-2.25),
    np.float64(np.pi),
    np.complex64(1 + 2j),
    np.complex128(-3.5 + 0.25j),
    np.str_("héllo"),
    np.bytes_(b"\x00ab"),
    np.void(b"\x01\x02\x03"),
    np.datetime64("2021-03-04T05:06:07.123", "ms"),
    np.timedelta64(17, "h"),
    np.zeros(1, STRUCTURED)[0],
    np.array([(1, 2.5)], dtype="i4,>f8")[0],
]


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
@pytest.mark.parametrize("scalar", SCALARS, ids=lambda s: type(s).__name__)
def test_scalars(scalar: Any, protocol: int) -> None:
    got, want = roundtrip(scalar, protocol)
    assert_same(got, want)


def test_object_elements_follow_the_registry() -> None:
    arr = np.array([1, "two", (3.0, None), {"k": [4]}, b"5"], dtype=object)
    for protocol in (2, 4, 5):
        got, want = roundtrip(arr, protocol)
        assert_same(got, want)
        assert got[3] == {"k": [4]}
    # An element naming an unknown global is refused or generic, as elsewhere.
    arr2 = np.array([io.BytesIO], dtype=object)
    data = pickle.dumps(arr2, 4)
    with pytest.raises(emulpickle.ForbiddenGlobalError):
        emulate(data)
    generic = emulate(data, unknown="generic")
    assert isinstance(generic[0], emulpickle.GenericClass)


def test_shared_references_inside_one_pickle() -> None:
    a = np.arange(6).reshape(2, 3)
    obj = {"x": a, "y": a, "dt": a.dtype, "list": [a.dtype, np.float32(1)]}
    for protocol in (0, 2, 4, 5):
        got = emulate(pickle.dumps(obj, protocol))
        assert got["x"] is got["y"]
        assert_same(got["x"], a)
        assert got["dt"] == a.dtype


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_matrix() -> None:
    m = np.matrix([[1, 2], [3, 4]], dtype=">f4")
    for protocol in (2, 4, 5):
        got, want = roundtrip(m, protocol)
        assert type(got) is np.matrix
        assert_same(got, want)


@pytest.mark.skipif(not hasattr(np.dtypes, "StringDType"), reason="numpy < 2")
def test_string_dtype() -> None:
    string_dtype: Any = getattr(np.dtypes, "StringDType")  # noqa: B009
    for dt in (string_dtype(), string_dtype(na_object=None)):
        arr = np.array(["a", "bcé", ""], dtype=dt)
        for protocol in (2, 4, 5):
            got, want = roundtrip(arr, protocol)
            assert_same(got, want)


def test_builtin_dtype_is_not_shared() -> None:
    got = emulate(pickle.dumps(np.dtype("f8"), 4))
    assert got == np.dtype("f8")
    assert got is not np.dtype("f8")


def test_npy_object_array_payload() -> None:
    arr = np.array([{"a": 1}, [1, 2], "x", None, 3.5], dtype=object)
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    raw = buf.getvalue()
    assert raw[:6] == b"\x93NUMPY"
    major = raw[6]
    if major == 1:
        (header_len,) = struct.unpack("<H", raw[8:10])
        start = 10 + header_len
    else:
        (header_len,) = struct.unpack("<I", raw[8:12])
        start = 12 + header_len
    payload = raw[start:]
    got = emulate(payload)
    assert_same(got, pickle.loads(payload))
    assert got.tolist() == arr.tolist()
