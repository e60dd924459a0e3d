"""Several pickles in one file: ``load()`` stops right after STOP."""

from __future__ import annotations

import io
import pickle
from typing import Any

import pytest
from helpers import pickle_bytes as pb
from helpers.opcode_cases.common import same

import emulpickle


class MinimalStream:
    """Only read() and readline(), no seek/peek/readinto: nothing can be undone."""

    def __init__(self, data: bytes) -> None:
        self._f = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._f.read(n)

    def readline(self, size: int = -1) -> bytes:
        return self._f.readline(size)

    def tell(self) -> int:
        return self._f.tell()


CONSECUTIVE = [
    ["a", 1],
    {"b": (2.5, None)},
    b"bytes" * 10,
    list(range(300)),
    "x" * 70000,  # big enough for the protocol 4/5 pickler to frame
    True,
]


@pytest.mark.parametrize("stream_type", ["BytesIO", "MinimalStream"])
@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_consecutive_pickles_in_one_file(protocol: int, stream_type: str) -> None:
    chunks = [pickle.dumps(obj, protocol=protocol) for obj in CONSECUTIVE]
    data = b"".join(chunks)
    f: Any = io.BytesIO(data) if stream_type == "BytesIO" else MinimalStream(data)
    end = 0
    for obj, chunk in zip(CONSECUTIVE, chunks, strict=True):
        end += len(chunk)
        assert same(emulpickle.load(f), obj)
        assert f.tell() == end
    with pytest.raises(emulpickle.TruncatedError):
        emulpickle.load(f)


def test_consecutive_mixed_protocols_with_unpickler_objects() -> None:
    data = (
        b"I1\n."
        + pickle.dumps("two", protocol=2)
        + pickle.dumps({"three": 3}, protocol=5)
        + b"\x80\x04"
        + pb.frame(b"\x8c\x04four.")
    )
    f = MinimalStream(data)
    got = [emulpickle.Unpickler(f).load() for _ in range(4)]
    assert got == [1, "two", {"three": 3}, "four"]
    assert f.tell() == len(data)


def test_consecutive_matches_cpython_positions() -> None:
    data = b"".join(pickle.dumps(o, protocol=4) for o in CONSECUTIVE)
    ours, theirs = MinimalStream(data), MinimalStream(data)
    for _ in CONSECUTIVE:
        assert same(emulpickle.load(ours), pickle.load(theirs))  # type: ignore[arg-type]
        assert ours.tell() == theirs.tell()


def test_same_unpickler_loads_twice() -> None:
    data = pickle.dumps([1], protocol=2) + pickle.dumps([2], protocol=2)
    u = emulpickle.Unpickler(io.BytesIO(data))
    assert u.load() == [1]
    assert u.load() == [2]
