"""The scanner frames pickles exactly as the machine does.

A pickle the machine refuses because of its FRAME opcodes (a read straddling
a frame's end, a frame starting inside another, a frame longer than the
data) is an error for the scanner too, at the same offset; a pickle it
accepts is walked the same way, naming the same globals its find_class hook
sees."""

from __future__ import annotations

import collections
import pickletools
import re
import struct

import pytest
from helpers.pickle_seeds import SEEDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emulpickle
from emulpickle.scan import scan

_REGISTRY = emulpickle.default_registry()


def _machine(
    data: bytes,
) -> tuple[emulpickle.UnpicklingError | None, set[tuple[str, str]]]:
    """The machine's verdict on ``data`` and the globals its find_class saw."""
    seen: set[tuple[str, str]] = set()

    def find_class(module: str, name: str) -> object:
        seen.add((module, name))
        found = _REGISTRY.resolve(module, name)
        return (
            found.value if found is not None else emulpickle.GenericClass(module, name)
        )

    try:
        emulpickle.loads(data, find_class=find_class, fix_imports=False)
    except emulpickle.UnpicklingError as exc:
        return exc, seen
    return None, seen


def _assert_same(data: bytes) -> bool:
    """Scanner and machine agree on ``data``; returns whether it was refused."""
    error, seen = _machine(data)
    report = scan(data)
    if error is None:
        assert report.errors == [], (data, report.errors)
        assert {(f.module, f.name) for f in report.findings} == seen
        return False
    assert len(report.errors) == 1, (data, error)
    match = re.search(r"at offset (\d+)\)$", report.errors[0])
    assert match is not None and int(match.group(1)) == error.offset, (
        data,
        error,
        report.errors,
    )
    return True


def _frame(n: int) -> bytes:
    return b"\x95" + struct.pack("<Q", n)


def _u(s: str) -> bytes:
    return b"\x8c" + bytes([len(s)]) + s.encode()


# name: (frame length, what follows the FRAME, whether it is refused)
CASES: dict[str, tuple[int, bytes, bool]] = {
    "frame covering the pickle": (3, b"K\x01.", False),
    "frame ending after an opcode byte": (1, b"K\x01.", False),
    "BININT straddling the frame end": (3, b"J\0\0\0\0.", True),
    "counted opcode split after its length": (2, _u("abc") + b".", False),
    "counted opcode split inside its payload": (3, _u("abc") + b".", True),
    "BINUNICODE split after its length": (5, b"X\x02\0\0\0ab.", False),
    "BINUNICODE split inside its length": (3, b"X\x02\0\0\0ab.", True),
    "frame longer than the data": (9, b"N.", True),
    "frame inside a frame": (12, b"N0" + _frame(1) + b"N.", True),
    "frame right at the end of a frame": (11, b"N0" + _frame(2) + b"N.", False),
    "frames back to back": (1, b"N" + _frame(1) + b".", False),
    "empty frame": (0, b"N.", False),
    "line inside the frame": (4, b"I12\n.", False),
    "line straddling the frame end": (3, b"I12\n.", True),
    "GLOBAL split between its two lines": (7, b"cmymod\nThing\n)R.", False),
    "GLOBAL split inside its second line": (10, b"cmymod\nThing\n)R.", True),
    "STOP inside a frame, a pickle after it": (4, b"N.N.", False),
}


@pytest.mark.parametrize(("length", "body", "refused"), CASES.values(), ids=list(CASES))
def test_frame_rules(length: int, body: bytes, refused: bool) -> None:
    assert _assert_same(b"\x80\x04" + _frame(length) + body) is refused


def _unframed(data: bytes) -> tuple[bytes, list[int]]:
    """``data`` without its FRAME opcodes, and where each opcode then starts."""
    ops = [(op.name, pos) for op, _, pos in pickletools.genops(data)]
    ends = [pos for _, pos in ops[1:]] + [len(data)]
    body = bytearray()
    starts = []
    for (name, pos), end in zip(ops, ends, strict=True):
        if name != "FRAME":
            starts.append(len(body))
            body += data[pos:end]
    return bytes(body), starts


def _reframe(body: bytes, cuts: list[int], deltas: list[int]) -> bytes:
    """A FRAME before each cut, covering the stretch to the next cut, plus a delta."""
    bounds = [*cuts, len(body)]
    out = bytearray(body[: cuts[0]] if cuts else body)
    for start, end, delta in zip(bounds, bounds[1:], deltas, strict=False):
        out += _frame(max(0, end - start + delta)) + body[start:end]
    return bytes(out)


DELTAS = st.one_of(
    st.sampled_from([0, 0, 0, 1, -1, 2, -2, 9, 1000]), st.integers(-30, 30)
)


@settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_reframed_pickles(seed: bytes, data: st.DataObject) -> None:
    body, starts = _unframed(seed)
    cuts = sorted(data.draw(st.sets(st.sampled_from(starts), max_size=5)))
    deltas = data.draw(st.lists(DELTAS, min_size=len(cuts), max_size=len(cuts)))
    _assert_same(_reframe(body, cuts, deltas))


def test_reframing_reaches_both_outcomes() -> None:
    """Every single-frame placement of a few seeds, off by at most one byte."""
    outcomes: collections.Counter[bool] = collections.Counter()
    for seed in SEEDS[::5]:
        body, starts = _unframed(seed)
        for cut in starts:
            for delta in (-1, 0, 1):
                outcomes[_assert_same(_reframe(body, [cut], [delta]))] += 1
    assert outcomes[True] > 20 and outcomes[False] > 20
