"""Hypothesis fuzzing of polyglot shapes: whatever the real readers find.

Each example glues pieces together (a pickle, a zip, a tar, an ``.npy``,
junk) in some order. An oracle reads the result the ways loaders do, with
the real readers but an unpickler that runs nothing: ``pickle.load`` at
offset 0, every member ``zipfile`` lists, every member ``tarfile`` lists.
Its ``find_class`` records each global it is asked for and refuses it, so
the oracle sees the first global of every reading. The scanner must report
each of them (and never raise). The CI run is a bounded sample; set
``EMULPICKLE_FUZZ_SECONDS`` for a longer one.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import struct
import tarfile
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulpickle.scan import scan

_LONG = float(os.environ.get("EMULPICKLE_FUZZ_SECONDS", "0")) > 0


class _Seen(Exception):
    pass


class _Recorder(pickle.Unpickler):
    """An unpickler that records the first global asked for, and stops."""

    def __init__(self, data: bytes, seen: set[tuple[str, str]]) -> None:
        super().__init__(io.BytesIO(data))
        self.seen = seen

    def find_class(self, module: str, name: str) -> object:
        self.seen.add((module, name))
        raise _Seen


def _read(data: bytes, seen: set[tuple[str, str]]) -> None:
    with contextlib.suppress(Exception):  # anything: this reading ends here
        _Recorder(data, seen).load()


def _oracle(data: bytes) -> set[tuple[str, str]]:
    """The first global of each reading a loader makes of ``data``."""
    seen: set[tuple[str, str]] = set()
    if data[:4] != b"PK\x03\x04":  # torch.load's test; pickle.load fails on it
        _read(data, seen)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                _read(archive.read(info), seen)
    except Exception:
        pass
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            for member in archive.getmembers():
                if member.isfile():
                    extracted = archive.extractfile(member)
                    if extracted is not None:
                        _read(extracted.read(), seen)
    except Exception:
        pass
    return seen


def _pickle(module: str, protocol: int) -> bytes:
    if protocol == 0:
        return f"c{module}\nthing\n)R.".encode()
    raw = module.encode()
    return (
        bytes([0x80, protocol])
        + b"\x8c"
        + bytes([len(raw)])
        + raw
        + b"\x8c\x05thing\x93)R."
    )


def _zip(members: list[tuple[str, bytes]], deflate: bool) -> bytes:
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", compression=method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buf.getvalue()


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _npy() -> bytes:
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }"
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\0" * 8


_modules = st.sampled_from(["os", "evil_a", "evil_b", "collections"])
_pickles = st.builds(_pickle, _modules, st.sampled_from([0, 2, 4]))
_members = st.lists(
    st.tuples(st.sampled_from(["a.pkl", "data/0", "notes.txt", "x"]), _pickles),
    min_size=1,
    max_size=3,
    unique_by=lambda m: m[0],
)
_pieces = st.one_of(
    _pickles,
    st.builds(_zip, _members, st.booleans()),
    st.builds(_tar, _members),
    st.just(_npy()),
    st.binary(max_size=64),
)


@settings(
    max_examples=2000 if _LONG else 60,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(st.lists(_pieces, min_size=1, max_size=3))
def test_scanner_reports_every_reading(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    report = scan(data)
    found = {(f.module, f.name) for f in report.findings}
    missed = _oracle(data) - found
    assert not missed, (missed, report)
