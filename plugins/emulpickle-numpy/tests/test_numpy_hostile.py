"""Hostile numpy pickles fail fast, with low memory, as emulpickle errors."""

from __future__ import annotations

import pickle
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from numpy_helpers import REGISTRY, emulate

import emulpickle

RECONSTRUCT = np.ndarray.__reduce__(np.zeros(0))[0]
FROMBUFFER = np.zeros(1).__reduce_ex__(5)[0]
SCALAR = np.float64(0).__reduce__()[0]


class Reduce:
    """Pickles as ``func(*args)`` followed by an optional BUILD ``state``."""

    def __init__(self, func: Any, args: tuple[Any, ...], state: Any = None) -> None:
        self.func = func
        self.args = args
        self.state = state

    def __reduce__(self) -> tuple[Any, ...]:
        if self.state is None:
            return (self.func, self.args)
        return (self.func, self.args, self.state)


def array_pickle(state: Any, shape: Any = (0,), dtype: Any = b"b") -> bytes:
    return pickle.dumps(Reduce(RECONSTRUCT, (np.ndarray, shape, dtype), state), 4)


def dtype_obj(typestr: Any, state: Any, copy: bool = True) -> Reduce:
    return Reduce(np.dtype, (typestr, False, copy), state)


I4 = np.dtype("i4")
F8 = np.dtype("f8")


@contextmanager
def cheap() -> Iterator[None]:
    """The body runs in under 2 s and allocates under 16 MiB at its peak."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        yield
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.perf_counter() - start < 2
    assert peak < 16 * 1024 * 1024


def refused(data: bytes, error: type[Exception] = emulpickle.EmulationError) -> str:
    with cheap(), pytest.raises(error) as info:
        emulate(data)
    return str(info.value)


@pytest.mark.parametrize(
    "state",
    [
        (1, (10,), I4, False, b"\0" * 8),  # too little data
        (1, (1,), I4, False, b"\0" * 8),  # too much data
        (1, (-1,), I4, False, b""),  # negative dimension
        (1, (2, -3), I4, False, b"\0" * 24),
        (1, (2**40, 2**40), F8, False, b""),  # size overflows
        (1, (10**9,), F8, False, b""),  # huge shape, no data
        (1, (3**40, 0), F8, False, b""),
        (1, (1.5,), I4, False, b"\0" * 4),  # non-int dimension
        (1, "shape", I4, False, b""),
        (1, (1,), "i4", False, b"\0" * 4),  # dtype is not a dtype
        (1, (1,), I4, 7, b"\0" * 4),  # bad is_fortran
        (1, (2,), np.dtype("O"), False, b"\0" * 16),  # object dtype, bytes data
        (1, (2,), np.dtype([("a", "O")]), False, b"\0" * 16),
        (1, (2,), I4, False, [1, 2]),  # list data for a plain dtype
        (1, (3,), np.dtype("O"), False, [1, 2]),  # wrong item count
        (1, (1,), I4, False, bytearray(4)),
        (1, (1,), I4, False, "\u0100" * 4),  # text that is not latin-1
        ((1,), I4, False),  # wrong length
        "not a tuple",
        ("1", (1,), I4, False, b"\0" * 4),
    ],
)
def test_bad_array_state(state: Any) -> None:
    refused(array_pickle(state))


def test_reconstruct_arguments() -> None:
    refused(array_pickle(None, shape=(10**12,)), emulpickle.LimitExceededError)
    refused(array_pickle(None, shape=(-1,)))
    refused(array_pickle(None, dtype=b"i3"))
    refused(array_pickle(None, dtype=12))
    data = pickle.dumps(Reduce(RECONSTRUCT, (np.dtype, (0,), b"b")), 4)
    refused(data)
    data = pickle.dumps(Reduce(RECONSTRUCT, (np.ndarray, (0,))), 4)
    refused(data)


def test_ndarray_cannot_be_called() -> None:
    refused(pickle.dumps(Reduce(np.ndarray, ((10**12,),)), 4))


def test_object_array_limit() -> None:
    state = (1, (1000,), np.dtype("O"), False, [None] * 1000)
    data = array_pickle(state)
    assert emulate(data).shape == (1000,)
    limits = emulpickle.Limits(max_emulator_alloc=4000)
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.loads(data, registry=REGISTRY, limits=limits)
    assert info.value.limit == "max_emulator_alloc"


@pytest.mark.parametrize(
    "typestr",
    ["i3", "x", "", "O16", "V99999999999", "U999999999", "f8,i4", "i4 ", 12, None],
)
def test_bad_dtype_strings(typestr: Any) -> None:
    refused(pickle.dumps(Reduce(np.dtype, (typestr, False, True)), 4))


def test_bad_dtype_call_flags() -> None:
    refused(pickle.dumps(Reduce(np.dtype, ("i4", 5, True)), 4))
    refused(pickle.dumps(Reduce(np.dtype, ("i4", False, True, 1)), 4))


GOOD_I4 = (3, "<", None, None, None, -1, -1, 0)


@pytest.mark.parametrize(
    ("typestr", "state"),
    [
        ("i4", (3, "<")),  # wrong shape
        ("i4", (3, "<", None, None, None, -1, -1)),
        ("i4", (9, "<", None, None, None, -1, -1, 0)),  # unknown version
        ("i4", (3, "?", None, None, None, -1, -1, 0)),  # bad byte order
        ("i4", (3, "<", None, None, None, -1, -1, 63)),  # claims object flags
        ("O8", (3, "|", None, None, None, -1, -1, 0)),  # object without flags
        ("i4", (3, "<", None, None, None, 64, -1, 0)),  # wrong elsize
        ("S4", (3, "|", None, None, None, 2**40, 1, 0)),
        ("U4", (3, "<", None, None, None, 6, 4, 8)),  # not a multiple of 4
        ("V8", (3, "|", None, ("a",), {"a": (I4, 6)}, 8, 1, 16)),  # out of bounds
        ("V8", (3, "|", None, ("a",), {"a": (I4, -1)}, 8, 1, 16)),
        ("V8", (3, "|", None, ("a",), {"b": (I4, 0)}, 8, 1, 16)),
        ("V8", (3, "|", None, ("a",), {"a": ("i4", 0)}, 8, 1, 16)),
        ("V8", (3, "|", None, ("a", "a"), {"a": (I4, 0)}, 8, 1, 16)),
        ("V8", (3, "|", None, ("a",), {"a": (I4, 0)}, 8, 1, 63)),  # bad flags
        ("V8", (3, "|", None, ("a",), [("a", I4)], 8, 1, 16)),
        ("V8", (3, "|", (I4, (4,)), None, None, 8, 4, 0)),  # sub-array too big
        ("V8", (3, "|", (I4, (-2,)), None, None, 8, 4, 0)),
        ("V8", (3, "|", ("i4", (2,)), None, None, 8, 4, 0)),
        ("M8", (4, "<", None, None, None, -1, -1, 0, (None, (b"xx", 1, 1, 1)))),
        ("M8", (4, "<", None, None, None, -1, -1, 0, (None, (b"s", 0, 1, 1)))),
        ("M8", (3, "<", None, None, None, -1, -1, 0)),  # datetime without unit
        ("i4", (4, "<", None, None, None, -1, -1, 0, [1])),  # metadata not a dict
    ],
)
def test_bad_dtype_state(typestr: str, state: Any) -> None:
    refused(pickle.dumps(dtype_obj(typestr, state), 4))


def test_builtin_dtypes_cannot_be_modified() -> None:
    before = np.dtype("f8").byteorder
    state = (3, ">", None, None, None, -1, -1, 0)
    got = emulate(pickle.dumps(dtype_obj("f8", state, copy=False), 4))
    assert got == np.dtype(">f8")
    assert np.dtype("f8").byteorder == before
    assert np.dtype("f8") == np.dtype("=f8")


def test_frombuffer_arguments() -> None:
    def fb(*args: Any) -> bytes:
        return pickle.dumps(Reduce(FROMBUFFER, args), 5)

    refused(fb(bytearray(8), np.dtype("i8"), (4,), "C"))  # buffer too small
    refused(fb(bytearray(64), np.dtype("i8"), (4,), "C"))  # too big
    refused(fb(bytearray(16), np.dtype("O"), (2,), "C"))  # object from bytes
    refused(fb(bytearray(16), np.dtype([("a", "O")]), (2,), "C"))
    refused(fb(bytearray(16), np.dtype("i8"), (2,), "X"))
    refused(fb(bytearray(16), np.dtype("i8"), (-2,), "C"))
    refused(fb(bytearray(16), "i8", (2,), "C"))
    refused(fb("not a buffer", np.dtype("u1"), (12,), "C"))
    refused(fb(bytearray(0), np.dtype("i8"), (2**40, 2**40), "C"))
    refused(fb(bytearray(16), np.dtype("i8"), (2,)))


def test_frombuffer_out_of_band_too_small() -> None:
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(np.arange(1000), 5, buffer_callback=buffers.append)
    with cheap(), pytest.raises(emulpickle.EmulationError):
        emulate(data, buffers=[bytearray(8)])


def test_scalar_arguments() -> None:
    def sc(*args: Any) -> bytes:
        return pickle.dumps(Reduce(SCALAR, args), 4)

    refused(sc(np.dtype("f8"), b"\0" * 4))  # too short
    refused(sc(np.dtype("f8"), b"\0" * 9))  # too long
    refused(sc(np.dtype("f8")))  # no data: numpy would allocate
    refused(sc(np.dtype("V2000000000")))
    refused(sc(np.dtype("f8"), [1.0]))
    refused(sc(np.dtype([("a", "O")]), b"\0" * 8))
    refused(sc("f8", b"\0" * 8))
    assert emulate(sc(np.dtype("O"), [1, 2])) == [1, 2]


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
@pytest.mark.parametrize(
    "make",
    [
        lambda: np.arange(3),
        lambda: np.dtype("i4"),
        lambda: np.float32(1),
        lambda: np.matrix([[1]]),
    ],
)
def test_truncated_numpy_pickles_are_errors(make: Callable[[], Any]) -> None:
    data = pickle.dumps(make(), 4)
    for cut in range(len(data) - 1):
        with pytest.raises(emulpickle.UnpicklingError):
            emulate(data[:cut])


# --- dtypes changed after use -------------------------------------------------
# numpy's dtype.__setstate__ changes a dtype in place, and numpy keeps the very
# fields dict it is given. Each pickle below is hand-assembled so that a dtype
# (or its fields dict) is changed after an array, a scalar or another dtype
# uses it; before the fix the first of them crashed the interpreter.


class Asm:
    """A tiny protocol-4 pickle assembler for the attack pickles below."""

    def __init__(self) -> None:
        self.out = bytearray(b"\x80\x04")
        self.memo = 0

    def op(self, raw: bytes) -> Asm:
        self.out += raw
        return self

    def value(self, value: Any) -> Asm:
        if value is None:
            return self.op(b"N")
        if isinstance(value, bool):
            return self.op(b"\x88" if value else b"\x89")
        if isinstance(value, int):
            return self.op(b"J" + value.to_bytes(4, "little", signed=True))
        if isinstance(value, str):
            raw = value.encode()
            return self.op(b"\x8c" + bytes([len(raw)]) + raw)
        if isinstance(value, bytes):
            return self.op(b"B" + len(value).to_bytes(4, "little") + value)
        if isinstance(value, tuple):
            self.op(b"(")
            for item in value:
                self.value(item)
            return self.op(b"t")
        if isinstance(value, dict):
            self.op(b"}(")
            for key, item in value.items():
                self.value(key).value(item)
            return self.op(b"u")
        if isinstance(value, np.dtype):
            return self.dtype(value)
        raise TypeError(value)

    def glob(self, module: str, name: str) -> Asm:
        return self.value(module).value(name).op(b"\x93")

    def put(self) -> int:
        self.op(b"\x94")
        self.memo += 1
        return self.memo - 1

    def get(self, index: int) -> Asm:
        return self.op(b"j" + index.to_bytes(4, "little"))

    def new_dtype(self, typestr: str) -> Asm:
        """``numpy.dtype(typestr, False, True)``, not built."""
        return self.glob("numpy", "dtype").value((typestr, False, True)).op(b"R")

    def dtype(self, dtype: np.dtype[Any]) -> Asm:
        """A dtype written the way numpy writes it: call, then BUILD."""
        _, args, state = dtype.__reduce__()
        return self.new_dtype(args[0]).value(state).op(b"b")

    def array(self, dtype_index: int, count: int, data: bytes) -> Asm:
        """An array of ``count`` items of the memoized dtype, from raw bytes."""
        self.glob("numpy._core.multiarray", "_reconstruct").op(b"(")
        self.glob("numpy", "ndarray").value((0,)).value(b"b").op(b"tR(")
        self.value(1).value((count,)).get(dtype_index).value(False).value(data)
        return self.op(b"tb")

    def stop(self) -> bytes:
        return bytes(self.out + b".")


OBJECT_STRUCT = np.dtype([("a", "O"), ("b", "O")])
FLOAT_STRUCT = np.dtype([("a", "<f8"), ("b", "<f8")])
POINTERS = (0x4141414141).to_bytes(8, "little") * 4


def rebuild_as_objects(asm: Asm, dtype_index: int) -> bytes:
    """BUILD the memoized V16 dtype into a struct of two object fields."""
    state = OBJECT_STRUCT.__reduce__()[2]
    asm.get(dtype_index).value(state).op(b"b0")
    return asm.stop()


def test_dtype_cannot_change_under_an_array() -> None:
    asm = Asm().new_dtype("V16")
    dtype = asm.put()
    asm.array(dtype, 2, POINTERS).op(b"0")
    message = refused(rebuild_as_objects(asm, dtype))
    assert "in use" in message


def test_dtype_cannot_change_under_a_scalar() -> None:
    asm = Asm().new_dtype("V16")
    dtype = asm.put()
    asm.glob("numpy._core.multiarray", "scalar").op(b"(").get(dtype)
    asm.value(POINTERS[:16]).op(b"tR0")
    refused(rebuild_as_objects(asm, dtype))


def test_dtype_cannot_change_under_another_dtype() -> None:
    asm = Asm().new_dtype("V16")
    inner = asm.put()
    state = list(np.dtype([("x", "V16")]).__reduce__()[2])
    outer = asm.new_dtype("V16").put()
    asm.get(outer).op(b"(")
    for item in state:
        if isinstance(item, dict):
            asm.op(b"}(").value("x").op(b"(").get(inner).value(0).op(b"tu")
        else:
            asm.value(item)
    asm.op(b"tb0")
    refused(rebuild_as_objects(asm, inner))


def test_dtype_takes_one_build() -> None:
    asm = Asm().new_dtype("f8")
    dtype = asm.put()
    state = np.dtype(">f8").__reduce__()[2]
    asm.get(dtype).value(state).op(b"b0").get(dtype).value(state).op(b"b.")
    refused(bytes(asm.out))


def test_fields_dict_changed_after_build_does_not_reach_numpy() -> None:
    _, args, state = FLOAT_STRUCT.__reduce__()
    asm = Asm().new_dtype(args[0])
    dtype = asm.put()
    asm.op(b"(")
    fields = -1
    for item in state:
        asm.value(item)
        if isinstance(item, dict):
            fields = asm.put()
    asm.op(b"tb")
    asm.array(dtype, 2, POINTERS)
    result = asm.put()
    # fields["a"] = (dtype("O"), 0), after the array was made with raw bytes.
    asm.get(fields).value("a").op(b"(").dtype(np.dtype("O")).value(0).op(b"ts0")
    got = emulate(asm.get(result).stop())
    assert got.dtype == FLOAT_STRUCT
    assert not got.dtype.hasobject
    assert got.tobytes() == POINTERS
    assert got["a"].tobytes() == POINTERS[:8] + POINTERS[16:24]


def _array_built_twice(second: bytes) -> bytes:
    """A list [array, the same array BUILT again with ``second`` bytes]."""
    asm = Asm().dtype(np.dtype("<f8"))
    dtype = asm.put()
    asm.op(b"(")  # [
    asm.array(dtype, 2, b"\x00" * 16)
    arr = asm.put()
    asm.get(arr).op(b"(").value(1).value((len(second) // 8,)).get(dtype)
    asm.value(False).value(second).op(b"tb")
    return asm.op(b"l").stop()


@pytest.mark.parametrize("count", [2, 3])
def test_array_takes_one_build(count: int) -> None:
    # An emulator that checked the array (an estimator's support vectors
    # against its counts, say) would otherwise see it changed afterwards:
    # ndarray.__setstate__ replaces the data of an array already in use.
    message = refused(_array_built_twice(b"\x01" * (8 * count)))
    assert "already built" in message


def test_array_from_frombuffer_takes_no_build() -> None:
    asm = Asm().dtype(np.dtype("<f8"))
    dtype = asm.put()
    asm.glob("numpy._core.numeric", "_frombuffer").op(b"(")
    asm.value(b"\x00" * 16).get(dtype).value((2,)).value("C").op(b"tR")
    asm.op(b"(").value(1).value((1,)).get(dtype).value(False).value(b"\x01" * 8)
    message = refused(asm.op(b"tb").stop())
    assert "already built" in message


@pytest.mark.parametrize("op", [b"K\x00Kcs", b"(K\x00Kcu", b"Kca", b"(Kce"])
def test_array_items_cannot_be_changed_by_the_pickle(op: bytes) -> None:
    # [arr, arr again with arr[0] = 99 (SETITEM/SETITEMS) or an APPEND(S)]:
    # standard item semantics on a built array would change, unchecked, what
    # an emulator may already have validated (indices, say).
    body = pickle.dumps(np.arange(3), 2)[2:-1]
    data = b"\x80\x02(" + body + b"q\x63h\x63" + op + b"l."
    message = refused(data)
    assert "which its emulator built and checked" in message


# --- deep tuples where the dtype emulator hashes state fields ----------------
# A tuple nested a million levels deep crashes CPython's (unguarded, recursive)
# tuple hash. The dtype state's byte order, datetime unit and field names are
# checked to be str before they are looked up in a set; before the fix each of
# these pickles crashed the interpreter.

NESTED = b"N" + b"\x85" * 1_000_000
MINUS_ONE = b"J\xff\xff\xff\xff"


def _dtype_with_state(typestr: bytes, state: bytes) -> bytes:
    call = b"cnumpy\ndtype\n(X" + len(typestr).to_bytes(4, "little") + typestr
    return b"\x80\x02" + call + b"\x89\x88tR" + state + b"b."


DEEP_DTYPE_STATES = {
    "byte order": _dtype_with_state(
        b"f8", b"(K\x03" + NESTED + b"NNN" + MINUS_ONE * 2 + b"K\x00t"
    ),
    "datetime unit": _dtype_with_state(
        b"M8",
        b"(K\x04X\x01\x00\x00\x00<NNN"
        + MINUS_ONE * 2
        + b"K\x00(N("
        + NESTED
        + b"K\x01K\x01K\x01ttt",
    ),
    "field names": _dtype_with_state(
        b"V8", b"(K\x03X\x01\x00\x00\x00|N(" + NESTED + b"t}K\x08K\x01K\x00t"
    ),
}


@pytest.mark.parametrize("data", DEEP_DTYPE_STATES.values(), ids=DEEP_DTYPE_STATES)
def test_deep_tuple_in_dtype_state_is_not_hashed(data: bytes) -> None:
    with pytest.raises((emulpickle.EmulationError, emulpickle.LimitExceededError)):
        emulate(data)


def _nested_subarray_dtypes(depth: int) -> bytes:
    """A pickle making ``depth`` void dtypes, each a one-element sub-array of
    the one before (numpy itself would not nest them like this)."""
    out = [b"\x80\x04\x8c\x05numpy\x8c\x05dtype\x93r\x00\x00\x00\x00"]
    out.append(b"\x8c\x02f8\x89\x88\x87R")
    out.append(b"(K\x03\x8c\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
    out.append(b"r\x01\x00\x00\x000")
    for i in range(depth):
        inner = b"j" + (i + 1).to_bytes(4, "little")
        out.append(b"j\x00\x00\x00\x00\x8c\x02V8\x89\x88\x87R")
        out.append(b"(K\x03\x8c\x01|" + inner + b"K\x01\x85\x86NNK\x08K\x08K\x00tb")
        out.append(b"r" + (i + 2).to_bytes(4, "little") + b"0")
    out.append(b"j" + (depth + 1).to_bytes(4, "little") + b".")
    return b"".join(out)


def test_nested_dtypes_are_bounded() -> None:
    # numpy walks nested dtypes recursively in C: 200,000 levels crashed the
    # interpreter (and took quadratic time to check well before that).
    shallow = _nested_subarray_dtypes(5)
    assert emulate(shallow) == pickle.loads(shallow)
    with pytest.raises(emulpickle.EmulationError, match="nested over 32 deep"):
        emulate(_nested_subarray_dtypes(33))
    with pytest.raises(emulpickle.EmulationError, match="nested over 32 deep"):
        emulate(_nested_subarray_dtypes(200_000))
    emulate(_nested_subarray_dtypes(31))


def test_real_nested_struct_dtypes_load() -> None:
    inner = np.dtype([("x", "<f4"), ("y", "<i2", (3,))])
    for _ in range(6):  # fields sharing one sub-dtype, six levels deep
        inner = np.dtype([("a", inner), ("b", inner)])
    for protocol in (2, 4, 5):
        data = pickle.dumps(np.zeros(2, inner), protocol)
        loaded = emulate(data)
        expected = pickle.loads(data)
        assert loaded.dtype == expected.dtype
        assert loaded.tobytes() == expected.tobytes()
