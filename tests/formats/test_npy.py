"""emulpickle.formats.npy: the one .npy header parser, checked against numpy."""

from __future__ import annotations

import io
import tokenize
from pathlib import Path

import pytest

from emulpickle.formats import FormatError
from emulpickle.formats.npy import (
    MAX_HEADER_SIZE,
    may_hold_objects,
    parse_header,
    read_header,
)

np = pytest.importorskip("numpy")
fmt = pytest.importorskip("numpy.lib.format")


def _npy(header: bytes, version: tuple[int, int] = (1, 0), data: bytes = b"") -> bytes:
    size = 2 if version == (1, 0) else 4
    return (
        b"\x93NUMPY"
        + bytes(version)
        + len(header).to_bytes(size, "little")
        + header
        + data
    )


def _numpy_header(data: bytes) -> tuple[object, int]:
    """numpy's own reading: ((shape, fortran_order, dtype), data offset).

    Version 3.0 differs from 2.0 only in its text encoding (UTF-8), so
    numpy's 2.0 reader reads the ASCII ones."""
    f = io.BytesIO(data)
    version = fmt.read_magic(f)
    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    return read(f), f.tell()


ARRAYS = {
    "float": np.ones((2, 3)),
    "fortran": np.asfortranarray(np.ones((2, 3), np.int16)),
    "scalar": np.array(3.5),
    "empty": np.zeros((0, 4), np.uint8),
    "structured": np.zeros(2, dtype=[("Offset", "<f8"), ("b", "<i4", (2,))]),
    "objects": np.array([1, "x"], dtype=object),
    "unicode-field": np.zeros(1, dtype=[("é", "<f4")]),
}


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
@pytest.mark.parametrize("name", list(ARRAYS))
def test_headers_numpy_writes(name: str, version: tuple[int, int]) -> None:
    array = ARRAYS[name]
    if name == "unicode-field" and version != (3, 0):
        pytest.skip("numpy writes non-latin-1 field names only in version 3.0")
    f = io.BytesIO()
    fmt.write_array(f, array, version=version, allow_pickle=True)
    data = f.getvalue()
    if name == "unicode-field":  # beyond numpy's 2.0 reader: see the array
        shape, fortran, dtype = array.shape, False, array.dtype
        offset = len(data) - array.nbytes
    else:
        (shape, fortran, dtype), offset = _numpy_header(data)
    for header in (parse_header(data), read_header(io.BytesIO(data))):
        assert header.version == version
        assert header.shape == shape
        assert header.fortran_order == fortran
        assert np.dtype(fmt.descr_to_dtype(header.descr)) == dtype
        assert header.data_offset == offset
        assert header.has_objects == dtype.hasobject


def test_offsets_count_from_where_the_image_starts() -> None:
    f = io.BytesIO()
    np.save(f, np.ones(3))
    data = b"junk" + f.getvalue() + b"tail"
    header = parse_header(data, 4, len(data) - 4)
    assert data[header.data_offset :][: 3 * 8] == np.ones(3).tobytes()


@pytest.mark.filterwarnings("ignore:Reading `.npy`:UserWarning")
def test_python2_long_suffixes_are_read_as_numpy_reads_them() -> None:
    text = b"{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 3L), }"
    data = _npy(text + b" " * 3 + b"\n", data=bytes(48))
    (shape, _, _), _ = _numpy_header(data)
    assert parse_header(data).shape == shape == (2, 3)


@pytest.mark.parametrize(
    "header",
    [
        b"{'descr': __import__('os'), 'fortran_order': False, 'shape': (1,), }",
        b"{'descr': '<f8', 'fortran_order': 0, 'shape': (1,), }",
        b"{'descr': '<f8', 'fortran_order': False, 'shape': [1], }",
        b"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}",
        b"['descr', 'fortran_order', 'shape']",
        b"{'descr': '<f8', 'fortran_order': False, 'shape': (1,)",
    ],
)
def test_malformed_headers_are_refused_as_numpy_refuses_them(header: bytes) -> None:
    data = _npy(header)
    with pytest.raises((ValueError, tokenize.TokenError)):
        _numpy_header(data)
    with pytest.raises(FormatError, match="malformed"):
        parse_header(data)


@pytest.mark.parametrize("version", [(1, 1), (4, 0), (0, 0)])
def test_unknown_versions_are_refused(version: tuple[int, int]) -> None:
    data = b"\x93NUMPY" + bytes(version) + b"\x10\x00\x00\x00" + b" " * 16
    with pytest.raises(FormatError, match=r"unsupported \.npy format version"):
        parse_header(data)


class _Counting(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked = 0

    def read(self, size: int | None = -1) -> bytes:
        self.asked += size if size is not None and size >= 0 else 1 << 62
        return super().read(size)


def test_a_header_length_beyond_the_limit_reads_nothing_more() -> None:
    """A 4 GB length field is refused from the first 12 bytes."""
    data = b"\x93NUMPY\x02\x00" + (0xFFFFFFFF).to_bytes(4, "little") + b"{" * 64
    f = _Counting(data)
    with pytest.raises(FormatError, match=f"limit of {MAX_HEADER_SIZE} bytes"):
        read_header(f)
    assert f.asked == 12
    with pytest.raises(FormatError, match="limit"):
        parse_header(data)
    # Every version 1.0 header fits the one limit.
    assert MAX_HEADER_SIZE >= 0xFFFF


def test_a_header_beyond_the_end_is_truncated() -> None:
    data = _npy(b"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }")
    with pytest.raises(FormatError, match="truncated"):
        parse_header(data, 0, len(data) - 1)
    with pytest.raises(FormatError, match="truncated"):
        read_header(io.BytesIO(data[:-1]))
    with pytest.raises(FormatError, match="truncated"):
        parse_header(data[:9])


@pytest.mark.parametrize(
    ("descr", "objects"),
    [
        ("<f8", False),
        ("|O", True),
        ("object", True),  # numpy.dtype("object"): no capital O in it
        ([("Offset", "<f8")], False),  # a field name is no dtype
        ([("a", "<f8"), ("b", [("c", "|O")])], True),
        ([("a", "|O", (2,))], True),
        (("|O", (2,)), True),
        ([("a",)], True),  # unreadable: assume the worst
        (3, True),
    ],
)
def test_may_hold_objects(descr: object, objects: bool) -> None:
    assert may_hold_objects(descr) is objects
    try:
        dtype = fmt.descr_to_dtype(descr)
    except (TypeError, ValueError):
        return
    assert dtype.hasobject is objects


# ------------------------------------------------------------- CLI uses it


def _cli(*args: str | Path) -> tuple[int, str, str]:
    from helpers.cli_runner import run

    proc = run(*args)
    return proc.returncode, proc.stdout, proc.stderr


def _object_npy(tmp_path: Path, descr: str) -> Path:
    import pickle

    header = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': (2,), }}"
    raw = header.encode() + b" " * (-(len(header) + 11) % 64) + b"\n"
    path = tmp_path / "o.npy"
    path.write_bytes(_npy(raw, data=pickle.dumps([{"k": 1}, "s"], protocol=2)))
    return path


def test_cli_reads_object_arrays_numpy_reads(tmp_path: Path) -> None:
    """descr 'object' holds a pickle for numpy: show and dis read it."""
    pytest.importorskip("emulpickle_numpy")
    path = _object_npy(tmp_path, "object")
    assert np.load(path, allow_pickle=True) == [{"k": 1}, "s"]
    status, out, err = _cli("show", path)
    assert status == 0, err
    assert "'k': 1" in out
    status, out, err = _cli("dis", path)
    assert status == 0, err
    assert "EMPTY_LIST" in out


def test_cli_reads_plain_fields_named_with_an_o(tmp_path: Path) -> None:
    path = tmp_path / "s.npy"
    np.save(path, np.zeros(2, dtype=[("Offset", "<f8")]))
    status, out, err = _cli("show", path)
    assert status == 0, err
    assert "ndarray <structured dtype of 8 bytes> [2]" in out


def test_cli_reads_python2_headers(tmp_path: Path) -> None:
    text = b"{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 3L), }"
    path = tmp_path / "l.npy"
    path.write_bytes(_npy(text + b"   \n", data=bytes(48)))
    status, out, err = _cli("show", path)
    assert (status, err) == (0, "")
    assert "ndarray int64 [2, 3]" in out
