"""NEXT_BUFFER / READONLY_BUFFER: out-of-band buffers, given as ``buffers`` or
by the next_buffer and make_readonly hooks.
"""

from __future__ import annotations

import pickle
from typing import Any

from helpers.opcode_cases.common import emu_load, ref_loads, same


def test_next_buffer_returns_given_buffer(how: str) -> None:
    buf = bytearray(b"abc")
    got = emu_load(how, b"\x80\x05\x97.", buffers=[buf])
    ref = ref_loads(b"\x80\x05\x97.", buffers=[bytearray(b"abc")])
    assert got is buf or bytes(memoryview(got)) == b"abc"
    assert bytes(memoryview(ref)) == bytes(memoryview(got))
    assert not memoryview(got).readonly


def test_next_buffer_several_in_order(how: str) -> None:
    got = emu_load(how, b"\x80\x05\x97\x97\x86.", buffers=[b"one", bytearray(b"two")])
    assert [bytes(memoryview(x)) for x in got] == [b"one", b"two"]


def test_readonly_buffer(how: str) -> None:
    got = emu_load(how, b"\x80\x05\x97\x98.", buffers=[bytearray(b"abc")])
    view = memoryview(got)
    assert view.readonly and bytes(view) == b"abc"
    ref = ref_loads(b"\x80\x05\x97\x98.", buffers=[bytearray(b"abc")])
    assert memoryview(ref).readonly


def test_readonly_buffer_on_readonly_is_noop(how: str) -> None:
    data = b"\x80\x05C\x03abc\x98."
    assert same(emu_load(how, data), ref_loads(data))


def test_next_buffer_hook(how: str) -> None:
    calls: list[int] = []

    def next_buffer() -> Any:
        calls.append(1)
        return b"xyz"

    assert emu_load(how, b"\x80\x05\x97.", next_buffer=next_buffer) == b"xyz"
    assert calls == [1]


def test_make_readonly_hook(how: str) -> None:
    got = emu_load(
        how,
        b"\x80\x05\x97\x98.",
        buffers=[bytearray(b"q")],
        make_readonly=lambda obj: ("ro", bytes(obj)),
    )
    assert got == ("ro", b"q")


def test_buffers_with_in_band_pickle_from_cpython(how: str) -> None:
    pbuf = pickle.PickleBuffer(bytearray(b"payload"))
    bufs: list[Any] = []
    data = pickle.dumps([pbuf, b"x"], protocol=5, buffer_callback=bufs.append)
    got = emu_load(how, data, buffers=[b.raw() for b in bufs])
    assert bytes(memoryview(got[0])) == b"payload" and got[1] == b"x"
