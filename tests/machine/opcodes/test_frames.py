"""FRAME boundary rules (the pure-Python CPython unpickler enforces them too)."""

from __future__ import annotations

import pickle

import pytest
from helpers import pickle_bytes as pb
from helpers.opcode_cases.common import V, emu_load, ref_loads, same

import emulpickle

FRAME_ERRORS = [
    V(b"\x80\x04" + pb.frame(b"M\x01") + b"\x00.", id="BININT2-arg-straddles"),
    V(b"\x80\x04" + pb.frame(b"\x8c\x03ab") + b"c.", id="SHORT_BINUNICODE-straddles"),
    V(b"\x80\x04" + pb.frame(b"J\x01\x00") + b"\x00\x00.", id="BININT-straddles"),
    V(b"\x80\x04" + pb.frame(b"I12") + b"3\n.", id="INT-line-straddles"),
    V(
        b"\x80\x04" + pb.frame(b"\x95\x01") + b"\x00\x00\x00\x00\x00\x00\x00N.",
        id="FRAME-length-straddles",
    ),
    V(b"\x80\x04" + pb.frame(b"N" + pb.frame(b".")), id="FRAME-inside-frame"),
    V(
        b"\x80\x04" + pb.frame(b"]" + pb.frame(b"") + b"."),
        id="empty-FRAME-inside-frame",
    ),
]


@pytest.mark.parametrize("data", FRAME_ERRORS)
def test_frame_boundaries(data: bytes, how: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - sanity check of the input
        ref_loads(data, python=True)
    with pytest.raises(emulpickle.UnpicklingError):
        emu_load(how, data)


def test_frame_inside_frame_message_names_frame(how: str) -> None:
    data = b"\x80\x04" + pb.frame(b"N" + pb.frame(b"."))
    with pytest.raises(emulpickle.UnpicklingError) as info:
        emu_load(how, data)
    assert info.value.opcode == "FRAME"
    assert info.value.offset == 12  # the inner FRAME: 2 (PROTO) + 9 + 1 (NONE)


def test_frames_from_cpython_pickler(how: str) -> None:
    obj = {"k": ["x" * 70000, b"y" * 70000, list(range(2000))], "t": (1.5, None)}
    for protocol in (4, 5):
        data = pickle.dumps(obj, protocol=protocol)
        assert same(emu_load(how, data), obj)
