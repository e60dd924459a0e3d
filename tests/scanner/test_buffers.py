"""The scanner's walker reads an mmap or a bytearray exactly as it reads bytes.

``_scan_walk.walk`` runs over bytes (what the compiled walker reads fastest).
Any other buffer is walked over bytes copies of windows of it: a first one
of ``_FIRST_COPY`` bytes, then, each time the walk meets an opcode its
window does not hold whole, one starting at that opcode (payloads the walk
does not read are skipped, never copied). Whatever the buffer, the outcome
(where the pickle stops, or why and where the walk breaks) and the globals
recorded, with their offsets and counts, must be the same.
"""

from __future__ import annotations

import mmap
import pickle
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from helpers.pickle_seeds import SEEDS as FRAME_SEEDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulpickle.scan import scan
from emulpickle.scanner import walk as _scan_walk

Outcome = tuple[object, _scan_walk.Refs]

SEEDS = [
    *FRAME_SEEDS,
    b"\x80\x04\x95\x05\0\0\0\0\0\0\0N\x94N\x94.",  # a frame
]


def _walk(data: Any, pos: int, end: int, refs: _scan_walk.Refs) -> Outcome:
    """What ``walk`` returns or why it breaks, and the refs it leaves."""
    refs = {key: hits[:] for key, hits in refs.items()}
    try:
        result: object = _scan_walk.walk(data, pos, end, refs)
    except _scan_walk.Broken as exc:
        result = (exc.reason, exc.offset)
    return result, refs


@contextmanager
def first_copy(size: int) -> Iterator[None]:
    """Make ``walk`` copy only ``size`` bytes of a buffer at first."""
    saved = _scan_walk._FIRST_COPY
    _scan_walk._FIRST_COPY = size
    try:
        yield
    finally:
        _scan_walk._FIRST_COPY = saved


class Slices(bytearray):
    """A bytearray that records the length of each slice taken of it."""

    taken: list[int]

    def __getitem__(self, index: Any) -> Any:
        value = super().__getitem__(index)
        if isinstance(index, slice):
            self.taken.append(len(value))
        return value


def _slices(data: bytes) -> Slices:
    buffer = Slices(data)
    buffer.taken = []
    return buffer


def _assert_same_on_every_buffer(
    data: bytes, pos: int, end: int, refs: _scan_walk.Refs, first: int
) -> None:
    expected = _walk(data, pos, end, refs)
    mapped = mmap.mmap(-1, len(data))
    try:
        mapped[:] = data
        with first_copy(first):
            assert _walk(bytearray(data), pos, end, refs) == expected
            assert _walk(mapped, pos, end, refs) == expected
    finally:
        mapped.close()


MUTATIONS = st.lists(
    st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=3
)


@settings(
    max_examples=500,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    seed=st.sampled_from(SEEDS),
    mutations=MUTATIONS,
    prefix=st.binary(max_size=3),
    cut=st.integers(0, 40),
    suffix=st.binary(max_size=3),
    first=st.sampled_from([1, 2, 3, 5, 8, 13, 40, 1 << 16]),
    known=st.booleans(),
)
def test_mutated_pickles(
    seed: bytes,
    mutations: list[tuple[int, int]],
    prefix: bytes,
    cut: int,
    suffix: bytes,
    first: int,
    known: bool,
) -> None:
    """Pickles, mutated, cut short, inside other bytes, with refs found before."""
    body = bytearray(seed)
    for where, value in mutations:
        body[where % len(body)] = value
    body = body[: max(1, len(body) - cut)]
    data = prefix + bytes(body) + suffix
    # A global already recorded keeps its offset; new ones are counted anew.
    refs: _scan_walk.Refs = {("mymod", "Thing", "INST", True): [0, 1]} if known else {}
    end = len(prefix) + len(body)
    _assert_same_on_every_buffer(data, len(prefix), end, refs, first)


def test_first_copy_can_be_made_small() -> None:
    """The tests below do reach the next windows (compiled too)."""
    buffer = _slices(SEEDS[0])
    with first_copy(4):
        _walk(buffer, 0, len(buffer), {})
    assert buffer.taken[0] == 4
    assert len(buffer.taken) > 2
    assert max(buffer.taken) < len(buffer)


def test_every_truncation_of_every_seed() -> None:
    for seed in SEEDS:
        for end in range(1, len(seed) + 1):
            for first in (1, 4, 1 << 16):
                _assert_same_on_every_buffer(seed, 0, end, {}, first)


def _long_pickle() -> bytes:
    return pickle.dumps([f"s{i}" for i in range(20_000)] + [Path], protocol=4)


def test_a_pickle_longer_than_the_first_copy() -> None:
    data = _long_pickle()
    assert len(data) > _scan_walk._FIRST_COPY
    expected = _walk(data, 0, len(data), {})
    assert expected[0] == len(data)
    assert {key[:2] for key in expected[1]} == {("pathlib", "Path")}
    buffer = _slices(data)
    assert _walk(buffer, 0, len(data), {}) == expected
    # The walk ran out of data in its first copy and went on over the next
    # windows, each taken up where the last one stopped (at most an opcode
    # is copied twice), never over all of it again.
    assert buffer.taken[0] == _scan_walk._FIRST_COPY
    assert len(buffer.taken) > 2
    assert sum(buffer.taken) < len(data) + 300 * len(buffer.taken)
    for end in (len(data) - 1, len(data) - 5, _scan_walk._FIRST_COPY + 3):
        _assert_same_on_every_buffer(data, 0, end, {}, 1 << 16)


def test_raw_data_is_copied_only_at_first() -> None:
    """Data that is no pickle is not copied beyond the first bytes: the walk
    breaks there, or needs more than there is at all."""
    raw = b"\0" * (1 << 20)
    for head in (b"\xff", b"N" * 100 + b"\x00", b"B" + struct.pack("<I", 1 << 30)):
        buffer = _slices(head + raw)
        result, _ = _walk(buffer, 0, len(buffer), {})
        assert result == _walk(head + raw, 0, len(buffer), {})[0]
        assert buffer.taken == [_scan_walk._FIRST_COPY]
    # A length that fits: the walk goes on after the payload, which it
    # skips, never copying it.
    buffer = _slices(b"B" + struct.pack("<I", len(raw) - 5) + raw)
    result, _ = _walk(buffer, 0, len(buffer), {})
    assert result == ("invalid load key, b'\\x00'", len(raw))
    assert buffer.taken == [_scan_walk._FIRST_COPY, 5]


def test_scanning_a_file_reads_it_as_bytes(tmp_path: Path) -> None:
    data = _long_pickle()
    for end in (len(data), len(data) - 7):
        path = tmp_path / f"cut{end}.pkl"
        path.write_bytes(data[:end])
        from_file, from_bytes = scan(path), scan(data[:end])
        assert from_file.findings == from_bytes.findings
        assert from_file.errors == from_bytes.errors
