"""emulpickle.formats.tar: lists what tarfile lists, over any byte source,
with the member count bounded and archive-chosen names bounded in messages."""

from __future__ import annotations

import io
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulpickle.formats import BufferSource, FormatError
from emulpickle.formats.tar import is_tar, read_members


def make_tar(files: list[tuple[str, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as archive:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


class Chunked:
    """A byte source that is not a buffer (like the torch plugin's files)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)
        self.reads = 0

    def read(self, offset: int, length: int) -> bytes:
        assert offset >= 0 and offset + length <= self.size
        self.reads += 1
        return self.data[offset : offset + length]


names = st.text(
    st.sampled_from("abcxyz_.-0123456789"), min_size=1, max_size=120
).filter(lambda n: n not in (".", ".."))


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(names, st.binary(max_size=700), min_size=1, max_size=4),
    st.sampled_from([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]),
)
def test_members_match_tarfile_over_any_source(
    files: dict[str, bytes], fmt: int
) -> None:
    data = make_tar(list(files.items()), fmt)
    source = Chunked(data)
    assert is_tar(source)
    ours = read_members(source)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        theirs = {m.name: (m.offset_data, m.size) for m in archive.getmembers()}
    assert {n: (m.offset, m.size) for n, m in ours.items()} == theirs
    assert read_members(BufferSource(data)).keys() == ours.keys()


def test_member_count_is_bounded() -> None:
    data = make_tar([(f"m{i}", b"x") for i in range(50)], tarfile.USTAR_FORMAT)
    assert len(read_members(data, max_members=50)) == 50
    with pytest.raises(FormatError, match="max_archive_members") as info:
        read_members(data, max_members=49)
    assert info.value.limit == "max_archive_members"
    # Extended headers count as headers: three per allowed member at most.
    long_names = make_tar(
        [("x" * 200 + str(i), b"") for i in range(20)], tarfile.GNU_FORMAT
    )
    with pytest.raises(FormatError, match="max_archive_members"):
        read_members(long_names, max_members=6)


def test_messages_bound_member_names() -> None:
    data = make_tar([("n" * 5000, b"1"), ("n" * 5000, b"2")])
    with pytest.raises(FormatError, match="appears twice") as info:
        read_members(data)
    assert info.value.limit is None
    assert len(str(info.value)) < 300
