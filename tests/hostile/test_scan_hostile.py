"""Hostile files: the scanner flags them, the loader never runs them, and
resource attacks finish quickly in little memory."""

from __future__ import annotations

import contextlib
import io
import os
import struct
import sys
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.hostile_pickles import SCAN_BUILDERS as BUILDERS
from helpers.hostile_pickles import unicode_op as _u

import emulpickle
from emulpickle.formats.zip import RATIO_FLOOR
from emulpickle.scan import scan
from emulpickle.scanner.collector import MAX_INFLATED_MEMBER


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "pwned"


@pytest.mark.parametrize("build", BUILDERS.values(), ids=list(BUILDERS))
def test_payload_is_flagged(build: Callable[[Path], bytes], marker: Path) -> None:
    report = scan(build(marker))
    assert not report.clean
    assert any(f.verdict == "dangerous" for f in report.findings), report


@pytest.mark.parametrize("build", BUILDERS.values(), ids=list(BUILDERS))
@pytest.mark.parametrize("unknown", ["error", "generic"])
def test_loader_never_executes(
    build: Callable[[Path], bytes], unknown: str, marker: Path
) -> None:
    data = build(marker)
    before = set(sys.modules)
    with contextlib.suppress(emulpickle.UnpicklingError):
        emulpickle.loads(data, unknown=unknown)  # type: ignore[arg-type]
    assert not marker.exists()
    assert not {"subprocess", "pty", "webbrowser"} & (set(sys.modules) - before)


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_member_with_misleading_extension(marker: Path) -> None:
    payload = BUILDERS["STACK_GLOBAL"](marker)
    data = _zip({"archive/data.pkl": b"\x80\x04K\x01.", "archive/readme.txt": payload})
    report = scan(data)
    assert not report.clean
    assert [f.where for f in report.dangerous] == ["archive/readme.txt"]


def test_zip_deflated_member(marker: Path) -> None:
    data = _zip(
        {"model.bin": BUILDERS["GLOBAL os.system"](marker)}, zipfile.ZIP_DEFLATED
    )
    assert scan(data).dangerous


def test_protocol0_member_without_magic(marker: Path) -> None:
    data = _zip(
        {"archive/data/0": b"\x00" * 64, "archive/version": BUILDERS["INST"](marker)}
    )
    report = scan(data)
    assert not report.clean
    assert report.dangerous[0].where == "archive/version"


def test_mismatched_local_header_name(marker: Path) -> None:
    data = bytearray(_zip({"archive/evil.bin": BUILDERS["OBJ"](marker)}))
    at = data.index(b"archive/evil.bin")  # the local header's copy comes first
    data[at : at + 16] = b"archive/safe.txt"
    data[6:8] = struct.pack("<H", 0x0809)  # odd flag bits
    report = scan(bytes(data))
    assert report.dangerous and report.dangerous[0].where == "archive/evil.bin"


def test_bad_crc_and_prefixed_archive(marker: Path) -> None:
    raw = bytearray(_zip({"x": BUILDERS["INST"](marker)}))
    raw[14:18] = b"\0\0\0\0"  # local CRC
    assert scan(b"#!/bin/sh\nexit 0\n" + bytes(raw)).dangerous


def test_payload_in_npy_inside_npz(marker: Path) -> None:
    header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
    npy += BUILDERS["STACK_GLOBAL"](marker)
    report = scan(_zip({"arr.npy": npy}))
    assert not report.clean
    assert report.dangerous[0].where == "arr.npy (npz member)"
    assert scan(npy).dangerous


def test_nested_zip(marker: Path) -> None:
    inner = _zip({"p": BUILDERS["INST"](marker)})
    assert scan(_zip({"inner.zip": inner})).dangerous


def test_torch_legacy_layout_stops_after_storage_keys(marker: Path) -> None:
    magic = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + b"."
    parts = [
        magic,
        b"\x80\x02M\xe9\x03.",
        b"\x80\x02}q\x00.",
        b"\x80\x02}q\x00.",
        b"\x80\x02]q\x00.",
    ]
    data = b"".join(parts) + b"\xff" * 100
    assert scan(data).clean
    assert scan(b"".join(parts[:3]) + BUILDERS["INST"](marker)).dangerous


#: Seconds past which a scan counts as hung. Not a speed goal (those are
#: measured in benchmarks/): each input here takes well under a second, and
#: the behaviour it guards against (quadratic or exponential work) would take
#: minutes to hours, so a loaded CI machine cannot make this flaky.
HANG = 30.0


def _bounded(data: bytes, peak_bound: int = 100 << 20) -> object:
    """Scan ``data``: no hang (see ``HANG``), under ``peak_bound`` bytes (traced)."""
    t0 = time.perf_counter()
    report = scan(data)
    elapsed = time.perf_counter() - t0
    assert elapsed < HANG, elapsed
    tracemalloc.start()
    try:
        scan(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < peak_bound, peak
    return report


def test_zip_bomb_member() -> None:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\0" * (1 << 20)
    body = b"".join(comp.compress(chunk) for _ in range(512)) + comp.flush()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("small.pkl", b"\x80\x04K\x01.")
    small = buf.getvalue()
    # Swap the member's data for the bomb by building the archive by hand.
    name = b"bomb.pkl"
    local = struct.pack(
        "<4sHHHHHIIIHH",
        b"PK\x03\x04",
        20,
        0,
        8,
        0,
        0,
        0,
        len(body),
        512 << 20,
        len(name),
        0,
    )
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII",
        b"PK\x01\x02",
        20,
        20,
        0,
        8,
        0,
        0,
        0,
        len(body),
        512 << 20,
        len(name),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    cd = central + name
    eocd = struct.pack(
        "<4sHHHHIIH",
        b"PK\x05\x06",
        0,
        0,
        1,
        1,
        len(cd),
        len(local) + len(name) + len(body),
        0,
    )
    data = local + name + body + cd + eocd
    assert small  # (the helper zip shows zipfile is available)
    # Deflate's ratio is within Limits.max_inflate_ratio: the member bound
    # stops it, and the scan holds no more than that.
    report = _bounded(data, MAX_INFLATED_MEMBER + (64 << 20))
    assert not report.clean  # type: ignore[attr-defined]
    assert report.errors == [  # type: ignore[attr-defined]
        f"bomb.pkl: member 'bomb.pkl' inflates to more than {MAX_INFLATED_MEMBER}"
        " bytes (zip bomb?)"
    ]


def test_huge_memo_index() -> None:
    data = (
        b"\x80\x04"
        + b"".join(
            _u("os") + b"r" + struct.pack("<I", 0xFFFFFFFF - i) + b"0"
            for i in range(20000)
        )
        + b"j\xff\xff\xff\xff"
        + _u("system")
        + b"\x93."
    )
    report = _bounded(data)
    assert report.dangerous  # type: ignore[attr-defined]


def test_deep_mark_nesting() -> None:
    report = _bounded(b"\x80\x04" + b"(" * 1_000_000 + b"cos\nsystem\n.")
    assert report.dangerous  # type: ignore[attr-defined]


def test_long_line_and_huge_length_prefix() -> None:
    _bounded(b"cos\n" + b"a" * 5_000_000)
    _bounded(b"\x80\x04\x8e" + struct.pack("<Q", 1 << 62) + b"x")
    assert not scan(b"\x80\x04\x8e" + struct.pack("<Q", 1 << 62) + b"x").clean


def test_many_distinct_globals_are_bounded() -> None:
    data = b"".join(b"cm%d\nn\n0" % i for i in range(50_000)) + b"N."
    report = _bounded(data)
    assert not report.clean  # type: ignore[attr-defined]


def test_never_imports_anything() -> None:
    before = set(sys.modules)
    scan(b"\x80\x04" + _u("antigravity") + _u("fly") + b"\x93.")
    scan(b"cthis_module_does_not_exist\nx\n.")
    assert "antigravity" not in set(sys.modules) - before
    assert os.environ.get("EMULPICKLE_SCAN_IMPORTED") is None


def _zeros_bomb(kind: str) -> bytes:
    """Zeros compressed as joblib files are: for zlib and gzip, whose ratio
    stays within ``Limits.max_inflate_ratio``, more than the scan's member
    bound; for bz2 and xz (ratios of thousands), 48 MiB."""
    import bz2
    import lzma

    if kind in ("zlib", "gzip"):
        comp = zlib.compressobj(9, zlib.DEFLATED, 15 if kind == "zlib" else 31)
        chunk = b"\0" * (1 << 20)
        count = (MAX_INFLATED_MEMBER >> 20) + 16
        return b"".join(comp.compress(chunk) for _ in range(count)) + comp.flush()
    # bz2 and xz readers go on through concatenated streams.
    one = {"bz2": bz2.compress, "xz": lzma.compress}[kind](b"\0" * (1 << 20))
    return one * 48


@pytest.mark.parametrize("kind", ["zlib", "gzip", "bz2", "xz"])
def test_decompression_bomb(kind: str) -> None:
    """A compressed file decompresses no further than loaders inflate (the
    ratio of ``Limits.max_inflate_ratio`` past 1 MiB), nor past the scan's
    member bound: the scan holds no more than that."""
    data = _zeros_bomb(kind)
    ratio = max(RATIO_FLOOR, emulpickle.Limits().max_inflate_ratio * len(data))
    limit = min(MAX_INFLATED_MEMBER, ratio)
    report = _bounded(data, limit + (64 << 20))
    assert report.errors == [  # type: ignore[attr-defined]
        f"{kind}-compressed file: decompresses to more than {limit} bytes"
        " (decompression bomb?)"
    ]


def _joblib_head(shape: bytes) -> bytes:
    """A joblib array wrapper with a float64 dtype, memoized at 0, built."""
    dtype = b"cnumpy\ndtype\n(" + _u("f8") + b"\x89\x88tR"
    state = b"}(" + _u("shape") + shape + _u("dtype") + dtype
    state += _u("numpy_array_alignment_bytes") + b"Nu"
    return b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81\x94" + state + b"\x94b"


def test_joblib_wrapper_states_are_bounded() -> None:
    """A wrapper state with other keys is refused at once, however big it is;
    building a wrapper again and again costs the same each time."""
    head = b"\x80\x04(" + _joblib_head(b"K\x00\x85") + b"0"
    big = b"}\x94(" + b"".join(_u(f"k{i}") + b"N" for i in range(50_000)) + b"u"
    report = _bounded(head + big + b"h\x00h\x02b" * 20_000 + b"N.")
    assert "other attributes" in report.errors[0]  # type: ignore[attr-defined]
    rebuild = b"h\x00}" + _u("shape") + b"K\x00\x85sb0"
    report = _bounded(head + rebuild * 30_000 + b"N.")
    assert report.errors == []  # type: ignore[attr-defined]


def test_joblib_huge_array_is_an_error() -> None:
    shape = b"\x8a\x08" + (1 << 62).to_bytes(8, "little") + b"K\x04\x86"
    report = _bounded(b"\x80\x04(" + _joblib_head(shape) + b"\0" * 100 + b"N.")
    assert report.errors  # type: ignore[attr-defined]
