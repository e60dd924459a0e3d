"""Protocol 5 out-of-band buffers (NEXT_BUFFER/READONLY_BUFFER) with a trusting
find_class, the buffer hooks and their exceptions.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from helpers.strategies import assert_same, real_find_class
from helpers.trusting import HookError, RealUnpickler, _opnames, _raiser

import emulpickle


class Blob:
    """Holds a buffer; at protocol 5 it is pickled through a PickleBuffer."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def __reduce_ex__(self, protocol: int) -> Any:
        if protocol >= 5:
            return (Blob, (pickle.PickleBuffer(self.data),))
        return (Blob, (bytes(self.data),))


def _oob(
    obj: Any, callback: Callable[[pickle.PickleBuffer], Any] | None = None
) -> tuple[bytes, list[Any]]:
    bufs: list[pickle.PickleBuffer] = []

    def cb(b: pickle.PickleBuffer) -> Any:
        if callback is not None and callback(b):
            return True  # in-band
        bufs.append(b)
        return None

    return pickle.dumps(obj, 5, buffer_callback=cb), bufs


def test_oob_writable_buffer_is_the_given_object() -> None:
    data, bufs = _oob(Blob(bytearray(b"writable")))
    assert "NEXT_BUFFER" in _opnames(data) and "READONLY_BUFFER" not in _opnames(data)
    expected = pickle.loads(data, buffers=bufs)
    assert expected.data is bufs[0]
    got = emulpickle.loads(data, find_class=real_find_class, buffers=bufs)
    assert got.data is bufs[0]
    ba = bytearray(b"replaced")
    got = emulpickle.loads(data, find_class=real_find_class, buffers=[ba])
    assert got.data is ba and pickle.loads(data, buffers=[ba]).data is ba


def test_oob_readonly_buffer_over_writable_memory_shares_memory() -> None:
    data, _ = _oob(Blob(b"readonly"))
    assert "READONLY_BUFFER" in _opnames(data)
    ba_pick, ba_emul = bytearray(b"original"), bytearray(b"original")
    expected = pickle.loads(data, buffers=[ba_pick])
    got = emulpickle.loads(data, find_class=real_find_class, buffers=[ba_emul])
    assert_same(expected, got)
    assert type(got.data) is type(expected.data) is memoryview
    assert got.data.readonly and expected.data.readonly
    ba_pick[0] = ba_emul[0] = ord("X")
    assert bytes(expected.data) == bytes(got.data) == b"Xriginal"  # a view, not a copy


def test_oob_readonly_buffer_over_readonly_memory_is_kept() -> None:
    data, bufs = _oob(Blob(b"readonly"))
    expected = pickle.loads(data, buffers=bufs)
    got = emulpickle.loads(data, find_class=real_find_class, buffers=bufs)
    assert expected.data is bufs[0]
    assert got.data is bufs[0]
    ro = b"given bytes"
    assert pickle.loads(data, buffers=[ro]).data is ro
    assert emulpickle.loads(data, find_class=real_find_class, buffers=[ro]).data is ro


def test_oob_mixed_in_band_and_out_of_band() -> None:
    objs = [
        Blob(bytearray(b"big" * 10)),
        Blob(b"ro-small"),
        Blob(bytearray(b"w")),
        Blob(b"ro" * 20),
    ]
    data, bufs = _oob(objs, callback=lambda b: len(b.raw()) < 10)  # small ones in-band
    assert len(bufs) == 2
    expected = pickle.loads(data, buffers=bufs)
    got = emulpickle.loads(data, find_class=real_find_class, buffers=iter(bufs))
    assert_same(expected, got)
    assert got[0].data is bufs[0] and got[3].data is bufs[1]
    assert type(got[1].data) is bytes and type(got[2].data) is bytearray


def test_protocol5_in_band_picklebuffer() -> None:
    obj = [
        Blob(bytearray(b"w" * 300)),
        Blob(b"r" * 300),
        pickle.PickleBuffer(b"raw"),
        pickle.PickleBuffer(bytearray(b"rw")),
    ]
    data = pickle.dumps(obj, 5)
    expected = pickle.loads(data)
    got = emulpickle.loads(data, find_class=real_find_class)
    assert_same(expected, got)
    assert [type(b.data) for b in got[:2]] == [bytearray, bytes]
    assert type(got[2]) is bytes and type(got[3]) is bytearray


def test_oob_buffers_and_errors() -> None:
    data, bufs = _oob([Blob(bytearray(b"a")), Blob(bytearray(b"b"))])
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(data)
    with pytest.raises(pickle.UnpicklingError):  # no buffers given
        emulpickle.loads(data, find_class=real_find_class)
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(data, buffers=bufs[:1])
    with pytest.raises(pickle.UnpicklingError):  # not enough buffers
        emulpickle.loads(data, find_class=real_find_class, buffers=bufs[:1])
    got = emulpickle.loads(data, find_class=real_find_class, buffers=bufs)
    assert got[0].data is bufs[0] and got[1].data is bufs[1]


def test_next_buffer_and_make_readonly_hooks() -> None:
    data, _ = _oob([Blob(bytearray(b"w")), Blob(b"r")])
    supplied = [bytearray(b"first"), bytearray(b"second")]
    calls: list[Any] = []

    def next_buffer() -> Any:
        calls.append("next")
        return supplied[len([c for c in calls if c == "next"]) - 1]

    def make_readonly(obj: Any) -> Any:
        calls.append(("ro", obj))
        return ("readonly", obj)

    got = emulpickle.loads(
        data,
        find_class=real_find_class,
        next_buffer=next_buffer,
        make_readonly=make_readonly,
    )
    assert got[0].data is supplied[0]
    assert got[1].data == ("readonly", supplied[1]) and got[1].data[1] is supplied[1]
    assert calls == ["next", "next", ("ro", supplied[1])]

    class BufUnpickler(RealUnpickler):
        def __init__(self, file: Any) -> None:
            super().__init__(file)
            self.it = iter(supplied)

        def next_buffer(self) -> Any:
            return next(self.it)

        def make_readonly(self, obj: Any) -> Any:
            return memoryview(obj).toreadonly()

    got = BufUnpickler(io.BytesIO(data)).load()
    assert got[0].data is supplied[0]
    assert type(got[1].data) is memoryview and got[1].data.readonly
    supplied[1][0] = ord("S")
    assert bytes(got[1].data) == b"Second"


def test_buffer_hook_exceptions_propagate() -> None:
    data, _ = _oob(Blob(b"readonly"))
    err = HookError("from next_buffer")
    with pytest.raises(HookError) as info:
        emulpickle.loads(data, find_class=real_find_class, next_buffer=_raiser(err))
    assert info.value is err
    err2 = HookError("from make_readonly")
    with pytest.raises(HookError) as info:
        emulpickle.loads(
            data,
            find_class=real_find_class,
            next_buffer=lambda: bytearray(b"x"),
            make_readonly=_raiser(err2),
        )
    assert info.value is err2

    class U(RealUnpickler):
        def next_buffer(self) -> Any:
            raise err

    with pytest.raises(HookError) as info:
        U(io.BytesIO(data)).load()
    assert info.value is err

    class V(RealUnpickler):
        def next_buffer(self) -> Any:
            return bytearray(b"x")

        def make_readonly(self, obj: Any) -> Any:
            raise err2

    with pytest.raises(HookError) as info:
        V(io.BytesIO(data)).load()
    assert info.value is err2
