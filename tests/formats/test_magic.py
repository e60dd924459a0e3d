"""emulpickle.formats.magic: what a file is, by its first bytes."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from emulpickle.formats import magic
from emulpickle.formats.safetensors import Entry, write_file


def _zip() -> bytes:
    f = io.BytesIO()
    with zipfile.ZipFile(f, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(1))
    return f.getvalue()


def _tar(name: str = "pickle") -> bytes:
    f = io.BytesIO()
    with tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT) as t:
        info = tarfile.TarInfo(name)
        data = pickle.dumps(1)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return f.getvalue()


def _safetensors(header_pad: int = 0) -> bytes:
    f = io.BytesIO()
    name = "w" * (1 + header_pad)
    write_file(f, [Entry(name, "U8", (2,), lambda: [b"ab"])], {"format": "pt"})
    return f.getvalue()


def _sniff(data: bytes) -> str:
    return magic.sniff(data[: magic.HEAD_SIZE], len(data))


PAYLOAD = pickle.dumps({"a": 1}, protocol=2)

CASES = {
    "zip": _zip(),
    "tar": _tar(),
    "gzip": gzip.compress(PAYLOAD),
    "bz2": bz2.compress(PAYLOAD),
    "xz": lzma.compress(PAYLOAD),
    "lzma": lzma.compress(PAYLOAD, format=lzma.FORMAT_ALONE),
    "zlib": zlib.compress(PAYLOAD),
    "zstd": b"\x28\xb5\x2f\xfd" + bytes(20),
    "lz4": b"\x04\x22\x4d\x18" + bytes(20),
    "joblib": b"ZF0x" + zlib.compress(PAYLOAD),
    "7z": b"7z\xbc\xaf\x27\x1c" + bytes(26),
    "safetensors": _safetensors(),
    "torch-legacy": pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + PAYLOAD,
}


@pytest.mark.parametrize("kind", list(CASES))
def test_kinds(kind: str) -> None:
    assert kind in magic.KINDS
    assert _sniff(CASES[kind]) == kind


def test_npy() -> None:
    np = pytest.importorskip("numpy")
    f = io.BytesIO()
    np.save(f, np.ones(2))
    assert _sniff(f.getvalue()) == "npy"


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickles_of_every_protocol(protocol: int) -> None:
    for value in ([1, 2], "BZh9", 'a{"b', b"x" * 600, {"k": (1.5, None)}):
        data = pickle.dumps(value, protocol=protocol)
        assert _sniff(data) == "pickle", (protocol, value)
        declared = magic.pickle_protocol(data)
        assert declared == (protocol if protocol >= 2 else None)


def test_safetensors_whose_length_reads_like_a_pickle_opcode() -> None:
    """A header of 640 bytes: its length starts with 0x80 0x02 (PROTO 2)."""
    data = _safetensors(header_pad=0)
    length = int.from_bytes(data[:8], "little")
    data = _safetensors(header_pad=0x280 - length)
    assert data[:2] == b"\x80\x02"
    assert _sniff(data) == "safetensors"
    # Cut short, the header no longer fits: not safetensors.
    assert magic.sniff(data[:64], 64) != "safetensors"


def test_a_tar_member_named_like_a_joblib_prefix_is_a_tar() -> None:
    assert _sniff(_tar("x-data")) == "tar"
    assert magic.joblib_compression(_tar("x-data")) == "zlib"


def test_joblib_compression_names() -> None:
    assert magic.joblib_compression(CASES["joblib"]) == "compat"
    assert magic.joblib_compression(CASES["gzip"]) == "gzip"
    assert magic.joblib_compression(pickle.dumps(b"Zz", protocol=0)) is None
    assert magic.joblib_compression(b"BZ" + bytes(10)) is None  # not bz2


def test_empty_and_short_heads() -> None:
    assert magic.sniff(b"") == "pickle"
    assert magic.sniff(b"P") == "pickle"
    assert magic.pickle_protocol(b"\x80") is None


# ------------------------------------------------------------- CLI uses it


@pytest.mark.parametrize("kind", ["gzip", "xz", "zstd", "7z", "safetensors"])
def test_cli_names_files_it_does_not_load(tmp_path: Path, kind: str) -> None:
    """``dis`` reads no compressed file; ``show`` and ``json`` open gzip and
    xz wrappers (this zstd case is no zstd stream): the rest is named."""
    from helpers.cli_runner import assert_error, run

    path = tmp_path / "f.bin"
    path.write_bytes(CASES[kind])
    opened = {"gzip", "xz"}
    for command in ("show", "json", "dis"):
        proc = run(command, path)
        if command != "dis" and kind in opened:
            assert proc.returncode == 0, proc.stderr
            continue
        assert_error(proc, 2)
        assert f"a {kind}" in proc.stderr or f"an {kind}" in proc.stderr
