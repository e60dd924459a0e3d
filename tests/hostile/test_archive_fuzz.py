"""Fuzzing the zip reader with hostile shapes: central entries sharing or
overlapping records, names repeated in other cases, lying sizes, flipped bytes.

Whatever the input, :class:`emulpickle.formats.zip.ZipArchive` raises only
``FormatError``; what it accepts has disjoint members; a name listed twice
(ignoring case) is never read; reads stay within their bounds; and
``emulpickle_torch.load`` raises only ``emulpickle.UnpicklingError``.

CI runs a bounded sample; the long form is::

    EMULPICKLE_ARCHIVE_FUZZ_EXAMPLES=20000 python -m pytest -p no:cacheprovider \\
        tests/hostile/test_archive_fuzz.py
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zipfile
import zlib
from typing import Any

import pytest
from helpers.zip_builder import Central, Record, deflate, zip_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emulpickle
from emulpickle.formats import FormatError
from emulpickle.formats.zip import RATIO_FLOOR, ZipArchive, name_key

EXAMPLES = int(os.environ.get("EMULPICKLE_ARCHIVE_FUZZ_EXAMPLES", "150"))
MAX_INFLATED = 64 << 10
RATIO = 8

_STORAGE = (
    b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000"
    b"X\x03\x00\x00\x00cpuK\x02tQ"
)
PICKLE = (
    b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n("
    + _STORAGE
    + b"K\x00(K\x02t(K\x01t\x89NtR."
)
NAMES = [
    "archive/data.pkl",
    "archive/DATA.PKL",
    "archive/data/0",
    "archive/Data/0",
    "archive/byteorder",
    "archive/version",
    "other/data.pkl",
]
CONTENTS = [PICKLE, struct.pack("<2f", 1.0, 2.0), b"little", b"3\n", b"", b"x" * 300]


@st.composite
def archives(draw: st.DrawFn) -> bytes:
    records = []
    for _ in range(draw(st.integers(1, 4))):
        content = draw(st.sampled_from(CONTENTS))
        if draw(st.booleans()):
            lie = draw(st.sampled_from([0, 0, 1, -1, 1000, 1 << 20]))
            size = max(0, len(content) + lie)
            records.append(
                Record(draw(st.sampled_from(NAMES)), deflate(content), 8, size)
            )
        else:
            records.append(Record(draw(st.sampled_from(NAMES)), content))
    centrals = [Central(r.name, i) for i, r in enumerate(records)]
    # Extra entries: shared records (CVE-2024-0450), other names, overlaps.
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(0, len(records) - 1))
        csize = draw(st.one_of(st.none(), st.integers(0, 400)))
        centrals.insert(
            draw(st.integers(0, len(centrals))),
            Central(draw(st.sampled_from(NAMES)), index, csize),
        )
    data = bytearray(zip_bytes(records, centrals))
    for _ in range(draw(st.integers(0, 3))):
        if data:
            at = draw(st.integers(0, len(data) - 1))
            data[at] = draw(st.integers(0, 255))
    return bytes(data)


def check_archive(data: bytes) -> None:
    try:
        archive = ZipArchive(
            data, max_inflated_bytes=MAX_INFLATED, max_inflate_ratio=RATIO
        )
    except FormatError:
        return
    ordered = sorted(archive.members, key=lambda m: m.header_offset)
    for member, following in zip(ordered, [*ordered[1:], None], strict=True):
        end = member.header_offset + 30 + member.compressed_size
        limit = (
            archive.directory_offset if following is None else following.header_offset
        )
        assert end <= limit
    folded: dict[str, int] = {}
    for name in archive.names():
        folded[name_key(name)] = folded.get(name_key(name), 0) + 1
    for name in set(archive.names()):
        try:
            member = archive.get(name)
        except FormatError:
            assert folded[name_key(name)] > 1
            continue
        assert folded[name_key(name)] == 1 and member is not None
        before = archive.inflated
        try:
            view = archive.read(member)
        except FormatError:
            continue
        assert len(view) == member.size
        if member.method == 8:
            assert len(view) <= max(RATIO_FLOOR, RATIO * member.compressed_size)
        assert archive.inflated - before == (len(view) if member.method else 0)
    assert archive.inflated <= MAX_INFLATED
    # What zipfile also reads cleanly, it lists the same way.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as theirs:
                names = theirs.namelist()
        except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError):
            return
    assert names == [name.split("\0", 1)[0] for name in archive.names()]


def check_torch(data: bytes) -> None:
    torch = pytest.importorskip("emulpickle_torch")
    limits = emulpickle.Limits(max_inflated_bytes=MAX_INFLATED, max_inflate_ratio=RATIO)
    try:
        value: Any = torch.load(data, limits=limits)
        if isinstance(value, torch.Tensor):
            value.numpy()
    except emulpickle.UnpicklingError:
        pass


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@SETTINGS
@given(archives())
def test_hostile_shapes_are_read_within_bounds(data: bytes) -> None:
    check_archive(data)


@SETTINGS
@given(archives())
def test_torch_load_raises_only_emulpickle_errors(data: bytes) -> None:
    check_torch(data)


def test_seed_shapes() -> None:
    """The shapes the strategy aims at, explicitly."""
    good = zip_bytes(
        [Record("archive/data.pkl", PICKLE), Record("archive/data/0", CONTENTS[1])]
    )
    torch = pytest.importorskip("emulpickle_torch")
    assert torch.load(good).numpy().tolist() == [1.0, 2.0]
    shared = zip_bytes(
        [Record("archive/data.pkl", PICKLE), Record("archive/data/0", CONTENTS[1])],
        [Central("archive/data.pkl", 0), Central("archive/data/0", 1), Central("x", 1)],
    )
    duplicate = zip_bytes(
        [
            Record("archive/data.pkl", PICKLE),
            Record("archive/data/0", CONTENTS[1]),
            Record("archive/Data/0", CONTENTS[1]),
        ]
    )
    lying = zip_bytes(
        [
            Record("archive/data.pkl", deflate(PICKLE), 8, len(PICKLE) + 1000),
            Record("archive/data/0", CONTENTS[1]),
        ]
    )
    for data, match in [
        (shared, "overlap"),
        (duplicate, "listed 2 times"),
        (lying, "not the declared"),
    ]:
        with pytest.raises(torch.TorchFormatError, match=match):
            torch.load(data)
        check_archive(data)
    assert zlib.crc32(good)  # the helper wrote something
