"""Long strings are skipped where they lie, yet name what they name.

The walker pushes a string of ``LONG_TEXT`` bytes or more as a
``LongText`` (where it lies), not a copy; it is read only when a
STACK_GLOBAL uses it as a name, or when it is a dict key shaped like a
dunder name. Findings are the same as for any string, from bytes or a file,
and the walk over a buffer never copies the string.
"""

from __future__ import annotations

import mmap
import pickle
import struct
from pathlib import Path
from typing import Any

import pytest

from emulpickle.disasm import disassemble
from emulpickle.scan import scan
from emulpickle.scanner import walk as _scan_walk

LONG = _scan_walk.LONG_TEXT + 10


def _text(value: str) -> bytes:
    raw = value.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


class Slices(bytearray):
    """A bytearray that records the length of each slice taken of it."""

    taken: list[int]

    def __getitem__(self, index: Any) -> Any:
        value = super().__getitem__(index)
        if isinstance(index, slice):
            self.taken.append(len(value))
        return value


def _walked(data: bytes) -> tuple[object, _scan_walk.Refs, list[int]]:
    """The walk over bytes, which must equal the walk over an mmap and over a
    buffer that records what it copies (returned)."""
    outcomes = []
    buffer = Slices(data)
    buffer.taken = []
    mapped = mmap.mmap(-1, len(data))
    mapped[:] = data
    try:
        for source in (data, mapped, buffer):
            refs: _scan_walk.Refs = {}
            try:
                result: object = _scan_walk.walk(source, 0, len(data), refs)
            except _scan_walk.Broken as exc:
                result = (exc.reason, exc.offset)
            outcomes.append((result, refs))
    finally:
        mapped.close()
    assert outcomes[0] == outcomes[1] == outcomes[2]
    return outcomes[0][0], outcomes[0][1], buffer.taken


def test_a_long_module_name() -> None:
    module = "m" * LONG
    data = b"\x80\x04" + _text(module) + _text("thing") + b"\x93."
    result, refs, taken = _walked(data)
    assert result == len(data)
    assert list(refs) == [(module, "thing", "STACK_GLOBAL", False)]
    assert refs[module, "thing", "STACK_GLOBAL", False] == [len(data) - 2, 1]
    # Copied once, when used as a name: never into a window.
    assert taken.count(LONG) == 1
    assert sorted(taken)[-2] <= 1 << 13
    (ref,) = [i.global_ref for i in disassemble(data) if i.global_ref is not None]
    assert (ref.module, ref.name) == (module, "thing")


def test_a_long_string_that_names_nothing_is_never_copied() -> None:
    data = pickle.dumps(["x" * (LONG * 4), "y" * LONG], protocol=4)
    result, refs, taken = _walked(data)
    assert (result, refs) == (len(data), {})
    assert max(taken) <= 1 << 13


@pytest.mark.parametrize("tail", ["__", "_x"])
def test_a_long_dunder_key_in_a_build_state(tmp_path: Path, tail: str) -> None:
    key = "__" + "a" * LONG + tail
    data = (
        b"\x80\x02cbuiltins\nobject\n)\x81}"
        + _text(key)
        + b"N"  # the value
        + b"sb."
    )
    result, refs, taken = _walked(data)
    assert result == len(data)
    planted = [name for module, name, via, _ in refs if via == "BUILD"]
    assert planted == ([key] if tail == "__" else [])
    # Read (once) only when it is shaped like a dunder name.
    assert taken.count(len(key)) == (1 if tail == "__" else 0)
    assert sorted(taken)[-1 - taken.count(len(key))] <= 1 << 13
    path = tmp_path / "state.pkl"
    path.write_bytes(data)
    for report in (scan(data), scan(path)):
        names = [f.name for f in report.findings if f.via == "BUILD"]
        assert names == planted
