"""The scanner's tar reader agrees with the tarfile module on real archives."""

from __future__ import annotations

import io
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulpickle.formats import FormatError
from emulpickle.formats import tar as _tarread

FORMATS = [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]


def make_tar(files: dict[str, bytes], fmt: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


names = st.text(st.sampled_from("abcxyz_.-0123456789"), min_size=1, max_size=40).filter(
    lambda n: n not in (".", "..") and not n.startswith(".")
)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(names, st.binary(max_size=1500), min_size=1, max_size=5),
    st.sampled_from(FORMATS),
)
def test_members_match_tarfile(files: dict[str, bytes], fmt: int) -> None:
    data = make_tar(files, fmt)
    ours = _tarread.read_members(data)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        theirs = {m.name: (m.offset_data, m.size) for m in archive.getmembers()}
    assert {n: (m.offset, m.size) for n, m in ours.items()} == theirs
    for name, member in ours.items():
        assert data[member.offset : member.offset + member.size] == files[name]


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_long_names(fmt: int) -> None:
    name = "dir/" + "n" * 150
    data = make_tar({name: b"payload"}, fmt)
    assert _tarread.is_tar(data)
    assert list(_tarread.read_members(data)) == [name]


@pytest.mark.parametrize("name", ["../evil", "/abs", "a/../../b"])
def test_unsafe_names_are_refused(name: str) -> None:
    data = make_tar({name: b"x"}, tarfile.USTAR_FORMAT)
    with pytest.raises(FormatError, match="unsafe"):
        _tarread.read_members(data)


def test_truncated_member_is_refused() -> None:
    data = make_tar({"pickle": b"x" * 2000}, tarfile.USTAR_FORMAT)
    with pytest.raises(FormatError, match="beyond the end"):
        _tarread.read_members(data[:1024])


def test_corrupt_checksum_is_refused() -> None:
    data = bytearray(make_tar({"pickle": b"x"}, tarfile.USTAR_FORMAT))
    data[0] ^= 0xFF
    with pytest.raises(FormatError, match="checksum"):
        _tarread.read_members(bytes(data))
