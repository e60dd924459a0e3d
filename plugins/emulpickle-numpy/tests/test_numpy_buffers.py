"""Protocol-5 out-of-band buffers are wrapped without copying."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from numpy_helpers import assert_same, emulate

import emulpickle


def _dump_oob(arr: Any) -> tuple[bytes, list[pickle.PickleBuffer]]:
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(arr, 5, buffer_callback=buffers.append)
    return data, buffers


@pytest.mark.parametrize(
    "arr",
    [
        np.arange(24, dtype="<i8").reshape(4, 6),
        np.asfortranarray(np.arange(24, dtype=">f4").reshape(4, 6)),
        np.linspace(0, 1, 7, dtype="c16"),
        np.zeros(5, dtype="i4,>f8"),
        np.array(["ab", "c"], dtype="U2"),
    ],
    ids=lambda a: a.dtype.str,
)
def test_out_of_band_is_zero_copy(arr: Any) -> None:
    arr = arr.copy(order="K")
    data, buffers = _dump_oob(arr)
    assert len(buffers) == 1
    got = emulate(data, buffers=buffers)
    assert_same(got, pickle.loads(data, buffers=buffers))
    assert np.shares_memory(got, np.asarray(buffers[0]))
    assert got.flags.writeable
    first = bytes(memoryview(buffers[0]).cast("B")[:1])[0]
    got.reshape(-1, order="A").view("u1")[0] ^= 0xFF  # writes reach the buffer
    assert bytes(memoryview(buffers[0]).cast("B")[:1])[0] == first ^ 0xFF


def test_out_of_band_readonly() -> None:
    arr = np.arange(10.0)
    arr.flags.writeable = False
    data, buffers = _dump_oob(arr)
    got = emulate(data, buffers=buffers)
    want = pickle.loads(data, buffers=buffers)
    assert_same(got, want)
    assert not got.flags.writeable
    assert np.shares_memory(got, np.asarray(buffers[0]))


def test_out_of_band_plain_bytes_buffers() -> None:
    arr = np.arange(6, dtype="u2")
    data, buffers = _dump_oob(arr)
    raw = [bytearray(memoryview(b).tobytes()) for b in buffers]
    got = emulate(data, buffers=raw)
    assert np.shares_memory(got, np.frombuffer(raw[0], dtype="u1"))
    assert got.tolist() == arr.tolist()


def test_in_band_protocol_5() -> None:
    for arr in (np.arange(5), np.arange(5)[::-1], np.zeros((0, 3))):
        data = pickle.dumps(arr, 5)
        assert_same(emulate(data), pickle.loads(data))


def test_missing_or_short_out_of_band_buffer() -> None:
    data, _buffers = _dump_oob(np.arange(8, dtype="i8"))
    with pytest.raises(emulpickle.UnpicklingError):
        emulate(data)
    with pytest.raises(emulpickle.EmulationError, match="_frombuffer"):
        emulate(data, buffers=[bytearray(16)])
    with pytest.raises(emulpickle.EmulationError, match="not a buffer"):
        emulate(data, buffers=[12345])
