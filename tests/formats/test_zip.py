"""emulpickle.formats.zip: agrees with zipfile on good archives; refuses
overlapping members, duplicated names, too many members and inflation beyond
its bounds; stays below the rest of emulpickle."""

from __future__ import annotations

import ast
import io
import mmap
import weakref
import zipfile
from pathlib import Path

import pytest
from helpers import paths
from helpers.zip_builder import Central, Record, deflate, deflated_zeros, zip_bytes
from hypothesis import given, settings
from hypothesis import strategies as st

from emulpickle.formats import FormatError, SliceSource
from emulpickle.formats.zip import RATIO_FLOOR, Inflated, ZipArchive, inflate

FORMATS = paths.REPO_ROOT / "emulpickle" / "formats"


def std_zip(files: dict[str, bytes], method: int, zip64: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            with archive.open(info, "w", force_zip64=zip64) as member:
                member.write(data)
    return out.getvalue()


names = st.text(st.sampled_from("abcXYZ_./-0123456789"), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(names, st.binary(max_size=3000), max_size=6),
    st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
    st.binary(max_size=40),
    st.booleans(),
)
def test_reads_what_zipfile_writes(
    files: dict[str, bytes], method: int, prefix: bytes, zip64: bool
) -> None:
    data = prefix + std_zip(files, method, zip64)
    archive = ZipArchive(data)
    assert archive.names() == list(files)
    folded: dict[str, int] = {}
    for name in files:
        folded[name.lower()] = folded.get(name.lower(), 0) + 1
    for name, content in files.items():
        if folded[name.lower()] > 1:
            with pytest.raises(FormatError, match="listed 2 times"):
                archive.get(name)
            continue
        member = archive.get(name)
        assert member is not None
        assert bytes(archive.read(member)) == content
    assert archive.inflated == sum(
        len(c) for n, c in files.items() if method and folded[n.lower()] == 1
    )


def test_stored_members_are_not_copied(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(std_zip({"x/data.pkl": b"abc" * 100}, zipfile.ZIP_STORED))
    with open(path, "rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    archive = ZipArchive(mapped)
    member = archive.get("x/data.pkl")
    assert member is not None
    view = archive.read(member)
    assert view.obj is mapped and bytes(view) == b"abc" * 100
    assert archive.inflated == 0


# ------------------------------------------------------------- overlapping


def test_central_entries_sharing_one_record_are_refused() -> None:
    """CVE-2024-0450's construction: many names, one compressed payload."""
    payload = deflated_zeros(32 << 20)
    data = zip_bytes(
        [Record("a/data/0", payload, 8, 32 << 20)],
        [Central(f"a/data/{i}", 0) for i in range(60)],
    )
    assert len(data) < 64 << 10
    with pytest.raises(FormatError, match="overlap") as info:
        ZipArchive(data)
    assert info.value.limit is None


def test_sizes_reaching_into_the_next_record_are_refused() -> None:
    records = [Record("a", b"x" * 100), Record("b", b"y" * 100)]
    # "a" claims its data runs on over "b"'s header and data.
    centrals = [Central("a", 0, 100 + 30 + 1 + 100), Central("b", 1)]
    with pytest.raises(FormatError, match="'a' overlaps member 'b'"):
        ZipArchive(zip_bytes(records, centrals))
    # The last record may not run into the central directory either.
    with pytest.raises(FormatError, match="overlaps the central directory"):
        ZipArchive(zip_bytes(records, [Central("a", 0), Central("b", 1, 150)]))


def test_local_header_fields_pushing_data_into_the_next_record() -> None:
    # The central directory's sizes fit, but the local header's name is
    # longer than the central one: the data then runs into "b".
    records = [Record("a" * 20, b"x" * 10), Record("b", b"y" * 10)]
    centrals = [Central("a", 0, 25), Central("b", 1)]
    archive = ZipArchive(zip_bytes(records, centrals))
    first = archive.get("a")
    assert first is not None
    with pytest.raises(FormatError, match="overlaps the next member"):
        archive.read(first)


# -------------------------------------------------------------- duplicates


@pytest.mark.parametrize("second", ["a/data.pkl", "a/DATA.pkl", "A/Data.PKL"])
def test_duplicate_names_are_refused_when_read(second: str) -> None:
    data = zip_bytes([Record("a/data.pkl", b"one"), Record(second, b"two")])
    archive = ZipArchive(data)
    assert archive.names() == ["a/data.pkl", second]
    with pytest.raises(FormatError, match="listed 2 times"):
        archive.get("a/data.pkl")


def test_unread_duplicates_and_other_names_are_fine() -> None:
    records = [Record("x/a", b"1"), Record("x/a", b"2"), Record("x/b", b"3")]
    archive = ZipArchive(zip_bytes(records))
    member = archive.get("x/b")
    assert member is not None and bytes(archive.read(member)) == b"3"
    assert archive.get("x/B") is None  # another case only: not this name


# ----------------------------------------------------------- member count


def test_member_count_is_bounded() -> None:
    data = zip_bytes([Record(f"m/{i}", b"") for i in range(70_000)])
    assert len(ZipArchive(data).members) == 70_000
    with pytest.raises(FormatError, match="max_archive_members") as info:
        ZipArchive(data, max_members=69_999)
    assert info.value.limit == "max_archive_members"


def test_declared_member_count_is_bounded_before_parsing() -> None:
    data = bytearray(zip_bytes([Record(f"m/{i}", b"") for i in range(70_000)]))
    # The ZIP64 end record claims 2**40 entries: refused at once.
    at = data.rfind(b"PK\x06\x06")
    data[at + 24 : at + 40] = (1 << 40).to_bytes(8, "little") * 2
    with pytest.raises(FormatError, match="1099511627776 members") as info:
        ZipArchive(bytes(data))
    assert info.value.limit == "max_archive_members"


# -------------------------------------------------------------- inflation


def test_ratio_is_bounded_before_inflating() -> None:
    payload = deflate(bytes(4 << 20))
    data = zip_bytes([Record("big", payload, 8, 4 << 20)])
    archive = ZipArchive(data, max_inflate_ratio=100)
    member = archive.members[0]
    with pytest.raises(FormatError, match="max_inflate_ratio") as info:
        archive.read(member)
    assert info.value.limit == "max_inflate_ratio"
    assert archive.inflated == 0
    # Below the floor any ratio is fine.
    small = zip_bytes([Record("s", deflate(bytes(RATIO_FLOOR)), 8, RATIO_FLOOR)])
    tiny = ZipArchive(small, max_inflate_ratio=1)
    assert bytes(tiny.read(tiny.members[0])) == bytes(RATIO_FLOOR)


def test_total_is_bounded_per_archive() -> None:
    records = [Record(f"r/{i}", deflate(bytes(3 << 20)), 8, 3 << 20) for i in range(4)]
    archive = ZipArchive(zip_bytes(records), max_inflated_bytes=10 << 20)
    for member in archive.members[:3]:
        archive.read(member)
    assert archive.inflated == 9 << 20
    with pytest.raises(FormatError, match="max_inflated_bytes") as info:
        archive.read(archive.members[3])
    assert info.value.limit == "max_inflated_bytes"
    # Reading the same member again counts again: nothing is kept.
    with pytest.raises(FormatError, match="max_inflated_bytes"):
        archive.read(archive.members[0])


@pytest.mark.parametrize(
    ("declared", "match"),
    [(100, "more than its declared 100 bytes"), (5000, "not the declared 5000")],
)
def test_declared_size_must_be_met(declared: int, match: str) -> None:
    data = zip_bytes([Record("x", deflate(b"a" * 1000), 8, declared)])
    archive = ZipArchive(data)
    with pytest.raises(FormatError, match=match) as info:
        archive.read(archive.members[0])
    assert info.value.limit is None


def test_caller_size_bound_names_no_limit() -> None:
    data = zip_bytes([Record("x", deflate(b"a" * 1000), 8, 1000)])
    archive = ZipArchive(data)
    with pytest.raises(FormatError, match="more than the limit of 999") as info:
        archive.read(archive.members[0], max_size=999)
    assert info.value.limit is None


def test_corrupt_and_truncated_streams() -> None:
    stream = deflate(b"hello world" * 100)
    archive = ZipArchive(zip_bytes([Record("x", stream[:-4], 8, 1100)]))
    with pytest.raises(FormatError, match="truncated"):
        archive.read(archive.members[0])
    archive = ZipArchive(zip_bytes([Record("x", b"\xff" * 20, 8, 1100)]))
    with pytest.raises(FormatError, match="bad deflate data"):
        archive.read(archive.members[0])
    # The scanner's lenient reading gives what a truncated stream holds.
    out = inflate(SliceSource(stream[:-4]), 0, len(stream) - 4, 1 << 20)
    assert out and (b"hello world" * 100).startswith(out)


def test_inflated_bytes_are_freed_with_their_last_view() -> None:
    data = zip_bytes([Record("x", deflate(b"a" * 1000), 8, 1000)])
    archive = ZipArchive(data)
    view = archive.read(archive.members[0])[10:20]
    assert isinstance(view.obj, Inflated)
    ref = weakref.ref(view.obj)
    assert ref() is not None
    del view
    assert ref() is None


def test_unsupported_method_and_stored_size_mismatch() -> None:
    archive = ZipArchive(zip_bytes([Record("x", b"abc", 12, 3)]))
    with pytest.raises(FormatError, match="unsupported compression method 12"):
        archive.read(archive.members[0])
    archive = ZipArchive(zip_bytes([Record("x", b"abc", 0, 4)]))
    with pytest.raises(FormatError, match="differing sizes"):
        archive.read(archive.members[0])


@pytest.mark.parametrize(
    "data", [b"", b"PK\x03\x04", b"junk" * 100, b"PK\x05\x06" + b"\xff" * 18]
)
def test_not_archives(data: bytes) -> None:
    with pytest.raises(FormatError):
        ZipArchive(data)


def test_error_messages_bound_names() -> None:
    name = "n" * 5000
    data = zip_bytes([Record(name, b"1"), Record(name, b"2")])
    with pytest.raises(FormatError) as info:
        ZipArchive(data).get(name)
    assert len(str(info.value)) < 300


# ------------------------------------------------------------- layering


def test_formats_imports_nothing_else_of_emulpickle() -> None:
    """DESIGN.md: formats sits below all and imports nothing of emulpickle."""
    for path in FORMATS.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level == 0:
                    assert not (node.module or "").startswith("emulpickle"), path
                else:
                    assert node.level == 1, (path, node.module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("emulpickle"), path
