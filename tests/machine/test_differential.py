"""Differential tests: emulpickle against CPython's pickle on builtin values.

For every protocol 0-5, and for pickles written by both the C and the pure
Python pickler (and after ``pickletools.optimize``), ``emulpickle.loads`` with
the default registry must give exactly what ``pickle.loads`` gives: same
values, same exact types at every level and the same sharing structure.
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
from collections.abc import Callable
from typing import Any

import pytest
from helpers.strategies import (
    BUILTIN_TYPES,
    assert_same,
    builtin_values,
    shared_structures,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emulpickle

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

PROTOCOLS = list(range(pickle.HIGHEST_PROTOCOL + 1))
assert PROTOCOLS == [0, 1, 2, 3, 4, 5]

DUMPERS: dict[str, Callable[[Any, int], bytes]] = {
    "c": lambda x, p: pickle.dumps(x, p),
    "py": lambda x, p: pickle._dumps(x, p),  # type: ignore[attr-defined]
    "optimized": lambda x, p: pickletools.optimize(pickle.dumps(x, p)),
}

HYPO = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check_roundtrip(x: Any, data: bytes, exact_pickler: bool = True) -> None:
    expected = pickle.loads(data)
    got = emulpickle.loads(data)
    assert_same(expected, got)
    # sanity: pickle itself round-trips the value (so the test is about the value).
    # The pure-Python pickler at protocol 0 memoizes an escaped copy of strings
    # containing backslashes or newlines, losing their sharing: only the C
    # pickler is exact about sharing.
    assert_same(x, expected, sharing=exact_pickler)
    assert_same(x, got, sharing=exact_pickler)


# ---------------------------------------------------------------------------
# property tests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
@HYPO
@given(x=builtin_values)
def test_loads_matches_pickle(protocol: int, x: Any) -> None:
    for name, dump in DUMPERS.items():
        data = dump(x, protocol)
        try:
            check_roundtrip(x, data, exact_pickler=name != "py")
        except AssertionError as exc:
            raise AssertionError(
                f"[{name} pickler, protocol {protocol}] {exc}\n{data!r:.2000}"
            ) from None


@HYPO
@given(x=shared_structures, protocol=st.sampled_from(PROTOCOLS))
def test_shared_and_cyclic_structures(x: Any, protocol: int) -> None:
    data = pickle.dumps(x, protocol)
    check_roundtrip(x, data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(xs=st.lists(builtin_values, min_size=1, max_size=4), protocols=st.data())
def test_concatenated_stream_property(xs: list[Any], protocols: st.DataObject) -> None:
    chunks = [pickle.dumps(x, protocols.draw(st.sampled_from(PROTOCOLS))) for x in xs]
    f_emul = load_side_by_side(xs, chunks, b"".join(chunks))
    with pytest.raises(EOFError):
        emulpickle.load(f_emul)


# ---------------------------------------------------------------------------
# explicit edge cases
# ---------------------------------------------------------------------------

EDGE_VALUES: list[Any] = [
    0,
    1,
    -1,
    True,
    False,
    255,
    256,
    -256,
    2**31 - 1,
    2**31,
    -(2**31),
    -(2**31) - 1,
    2**32,
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    2**64,
    10**100,
    -(10**100),
    2**2040,
    -(2**2040),
    2**2039 - 1,
    7**3000,
    -(7**3000),
    0.0,
    -0.0,
    1.5,
    -1.5,
    math.inf,
    -math.inf,
    5e-324,
    1e308,
    0.1,
    complex(0.0, -0.0),
    complex(-0.0, 0.0),
    complex(math.inf, -math.inf),
    1j,
    "",
    "a",
    "\x00",
    "\\",
    "\n\r\x1a",
    "caf\xe9",
    "\u20ac",
    "\U0001f600",
    "\ud800",
    "\udfff",
    "a\ud800b",
    "\ud800\udc00",
    "\\u0041",
    "\\U0001f600",
    "x" * 255,
    "x" * 256,
    "x" * 70000,
    "\u20ac" * 30000,
    b"",
    b"\x00",
    b"\xff",
    bytes(range(256)),
    b"x" * 255,
    b"x" * 256,
    b"y" * 70000,
    bytearray(),
    bytearray(b"abc"),
    bytearray(b"z" * 70000),
    None,
    Ellipsis,
    NotImplemented,
    (),
    (1,),
    (1, 2),
    (1, 2, 3),
    (1, 2, 3, 4),
    ((),),
    (((),),),
    [],
    [1],
    list(range(1001)),  # APPENDS batches of 1000
    {},
    {1: 2},
    {i: str(i) for i in range(1001)},
    {(1, 2): frozenset({3})},
    set(),
    {1},
    set(range(1001)),
    frozenset(),
    frozenset({1, 2}),
    frozenset(range(1001)),
    slice(None),
    slice(1, 2, 3),
    slice(-(2**70), None, "x"),
    range(0),
    range(1, 10, 3),
    range(-(2**80), 2**80, 2**40),
    *BUILTIN_TYPES,
    type(Ellipsis),
    type(NotImplemented),
    [int, str, type(None), None, (bool, float)],
]


def _edge_id(x: Any) -> str:
    r = repr(x)
    return r if len(r) < 40 else r[:37] + "..."


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("x", EDGE_VALUES, ids=_edge_id)
def test_edge_values(x: Any, protocol: int) -> None:
    for name, dump in DUMPERS.items():
        data = dump(x, protocol)
        try:
            check_roundtrip(x, data, exact_pickler=name != "py")
        except AssertionError as exc:
            raise AssertionError(f"[{name} pickler] {exc}\n{data!r:.2000}") from None


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    "t",
    [*BUILTIN_TYPES, type(Ellipsis), type(NotImplemented)],
    ids=lambda t: t.__name__,
)
def test_builtin_type_objects_are_identical(t: type, protocol: int) -> None:
    assert emulpickle.loads(pickle.dumps(t, protocol)) is t


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_singletons_identical(protocol: int) -> None:
    got = emulpickle.loads(
        pickle.dumps([None, True, False, Ellipsis, NotImplemented], protocol)
    )
    assert got[0] is None and got[1] is True and got[2] is False
    assert got[3] is Ellipsis and got[4] is NotImplemented


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_nan_roundtrip(protocol: int) -> None:
    x = [math.nan, -math.nan, complex(math.nan, 1.0), {"k": math.nan}]
    got = emulpickle.loads(pickle.dumps(x, protocol))
    assert math.isnan(got[0]) and math.isnan(got[1]) and math.isnan(got[2].real)
    assert got[2].imag == 1.0 and math.isnan(got[3]["k"])
    assert type(got[2]) is complex
    if protocol >= 1:  # binary floats keep the sign bit of NaN
        assert math.copysign(1.0, got[1]) == math.copysign(
            1.0, pickle.loads(pickle.dumps(x, protocol))[1]
        )


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_self_referencing_containers(protocol: int) -> None:
    lst: list[Any] = [1]
    lst.append(lst)
    d: dict[Any, Any] = {}
    d["me"] = d
    inner = [d, lst]
    tup = (inner, lst)
    inner.append(tup)
    root = [lst, d, tup, inner, inner]
    data = pickle.dumps(root, protocol)
    got = emulpickle.loads(data)
    assert got[0][1] is got[0]
    assert got[1]["me"] is got[1]
    assert got[2][0] is got[3] is got[4]
    assert got[3][2] is got[2]
    assert got[2][1] is got[0]
    assert_same(pickle.loads(data), got)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_shared_not_merged(protocol: int) -> None:
    """Equal but distinct objects stay distinct; the same object stays shared."""
    a, b = [1, 2], [1, 2]
    s1, s2 = "hello" * 3, "".join(["hello"] * 3)
    assert s1 is not s2
    x = [a, b, a, s1, s2, s1]
    got = emulpickle.loads(pickle.dumps(x, protocol))
    assert got[0] is got[2] and got[0] is not got[1]
    assert got[3] is got[5] and got[3] is not got[4]


# ---------------------------------------------------------------------------
# entry points and input kinds
# ---------------------------------------------------------------------------

SAMPLE: Any = {
    "a": [1, 2.5, "x", b"y", (None, True)],
    "b": {frozenset({1}), 3},
    "c": bytearray(b"z"),
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_load_file_and_unpickler(protocol: int) -> None:
    data = pickle.dumps(SAMPLE, protocol)
    expected = pickle.loads(data)
    assert_same(expected, emulpickle.load(io.BytesIO(data)))
    assert_same(expected, emulpickle.Unpickler(io.BytesIO(data)).load())
    f = io.BytesIO(data)
    assert_same(expected, emulpickle.Unpickler(f).load())
    assert f.tell() == len(data)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    "kind", ["bytes", "bytearray", "memoryview", "memoryview-slice", "readonly-mv"]
)
def test_loads_accepts_bytes_like(protocol: int, kind: str) -> None:
    data = pickle.dumps(SAMPLE, protocol)
    arg: Any
    if kind == "bytes":
        arg = data
    elif kind == "bytearray":
        arg = bytearray(data)
    elif kind == "memoryview":
        arg = memoryview(bytearray(data))
    elif kind == "memoryview-slice":
        arg = memoryview(b"JUNK" + data + b"TAIL")[4:-4]
    else:
        arg = memoryview(data).toreadonly()
    expected = pickle.loads(arg)
    assert_same(expected, emulpickle.loads(arg))
    assert_same(SAMPLE, emulpickle.loads(arg))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_trailing_data_after_stop_is_ignored(protocol: int) -> None:
    data = pickle.dumps(SAMPLE, protocol) + b"garbage that is not a pickle\x00\xff"
    assert_same(pickle.loads(data), emulpickle.loads(data))


def load_side_by_side(xs: list[Any], chunks: list[bytes], stream: bytes) -> io.BytesIO:
    """Load ``stream`` pickle by pickle with emulpickle and pickle together.

    After each pickle both files must sit right after its STOP and the
    objects must match each other and the originals. Returns emulpickle's
    file, positioned after the last pickle.
    """
    f_emul, f_pick = io.BytesIO(stream), io.BytesIO(stream)
    end = 0
    for x, chunk in zip(xs, chunks, strict=True):
        end += len(chunk)
        expected = pickle.load(f_pick)
        got = emulpickle.load(f_emul)
        assert f_pick.tell() == end
        assert f_emul.tell() == end, (
            f"after {x!r:.50}: position {f_emul.tell()} != {end}"
        )
        assert_same(expected, got)
        assert_same(x, got)
    return f_emul


def _mixed_stream() -> tuple[list[Any], list[bytes]]:
    xs: list[Any] = [
        1,
        "two",
        [3.0, b"four"],
        {"five": (5,)},
        "x" * 70000,
        None,
        b"b" * 70000,
        bytearray(b"nine"),
        {10, 11},
    ]
    chunks = [pickle.dumps(x, p) for x in xs for p in PROTOCOLS]
    xs = [x for x in xs for _ in PROTOCOLS]
    return xs, chunks


def test_concatenated_pickles_file_position() -> None:
    xs, chunks = _mixed_stream()
    f_emul = load_side_by_side(xs, chunks, b"".join(chunks) + b"tail")
    assert f_emul.read() == b"tail"


def test_concatenated_pickles_starting_mid_file() -> None:
    xs, chunks = _mixed_stream()
    stream = b"HEADER" + b"".join(chunks)
    f = io.BytesIO(stream)
    f.seek(6)
    for x, chunk in zip(xs, chunks, strict=True):
        start = f.tell()
        assert_same(x, emulpickle.load(f))
        assert f.tell() == start + len(chunk)


def test_one_unpickler_loads_successive_pickles() -> None:
    xs, chunks = _mixed_stream()
    stream = b"".join(chunks)
    f_emul, f_pick = io.BytesIO(stream), io.BytesIO(stream)
    u_emul, u_pick = emulpickle.Unpickler(f_emul), pickle.Unpickler(f_pick)
    for x in xs:
        got = u_emul.load()
        assert_same(u_pick.load(), got)
        assert_same(x, got)
        assert f_emul.tell() == f_pick.tell()
    with pytest.raises(EOFError):
        u_emul.load()


def test_concatenated_pickles_real_file(tmp_path: Any) -> None:
    """A buffered file on disk (with peek/readinto/seek): stops right after STOP."""
    xs, chunks = _mixed_stream()
    path = tmp_path / "stream.pkl"
    path.write_bytes(b"".join(chunks) + b"tail")
    with open(path, "rb") as f_emul, open(path, "rb") as f_pick:
        end = 0
        for x, chunk in zip(xs, chunks, strict=True):
            end += len(chunk)
            expected = pickle.load(f_pick)
            got = emulpickle.load(f_emul)
            assert f_pick.tell() == end
            assert f_emul.tell() == end
            assert_same(expected, got)
            assert_same(x, got)
        assert f_emul.read() == b"tail"
    with open(path, "rb", buffering=0) as raw:  # unbuffered FileIO
        for x, chunk in zip(xs[:5], chunks[:5], strict=True):
            start = raw.tell()
            assert_same(x, emulpickle.load(raw))
            assert raw.tell() == start + len(chunk)


class NonSeekable:
    """A stream with only read and readline (no seek/tell/peek/readinto)."""

    def __init__(self, data: bytes) -> None:
        self._f = io.BytesIO(data)
        self.consumed = 0

    def read(self, n: int = -1) -> bytes:
        b = self._f.read(n)
        self.consumed += len(b)
        return b

    def readline(self) -> bytes:
        b = self._f.readline()
        self.consumed += len(b)
        return b


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_non_seekable_stream(protocol: int) -> None:
    data = pickle.dumps(SAMPLE, protocol)
    assert_same(pickle.load(NonSeekable(data)), emulpickle.load(NonSeekable(data)))
    assert_same(SAMPLE, emulpickle.Unpickler(NonSeekable(data)).load())


def test_non_seekable_stream_concatenated() -> None:
    """Without seek or peek, the loader must not read past each STOP."""
    xs, chunks = _mixed_stream()
    s_emul, s_pick = NonSeekable(b"".join(chunks)), NonSeekable(b"".join(chunks))
    end = 0
    for x, chunk in zip(xs, chunks, strict=True):
        end += len(chunk)
        expected = pickle.load(s_pick)
        got = emulpickle.load(s_emul)
        assert s_pick.consumed == end
        assert s_emul.consumed == end, (
            f"after {x!r:.50}: consumed {s_emul.consumed} != {end}"
        )
        assert_same(expected, got)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_empty_and_truncated_input(protocol: int) -> None:
    data = pickle.dumps(SAMPLE, protocol)
    with pytest.raises(EOFError):
        emulpickle.loads(b"")
    with pytest.raises(EOFError):
        emulpickle.load(io.BytesIO(b""))
    for cut in range(len(data) - 1, len(data) // 2, -7):
        with pytest.raises(pickle.UnpicklingError) as info:
            emulpickle.loads(data[:cut])
        assert isinstance(info.value, emulpickle.UnpicklingError)
