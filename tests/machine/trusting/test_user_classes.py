"""emulpickle with a trusting ``find_class`` (one that imports real globals).

With such a hook emulpickle must behave exactly like ``pickle``: every
pickling style of user classes, recursive structures, copyreg extension codes,
out-of-band buffers, persistent ids and Python 2 names load to the same thing
``pickle.loads`` gives.  Hooks may also be overridden methods of an
``emulpickle.Unpickler`` subclass, and exceptions raised inside hooks
propagate unchanged.
"""

from __future__ import annotations

import _compat_pickle
import array
import collections
import copyreg
import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import io
import pickle
import pickletools
import re
import reprlib
import types
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers.strategies import assert_same, builtin_values, real_find_class, recording
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emulpickle

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

PROTOCOLS = list(range(pickle.HIGHEST_PROTOCOL + 1))
ALL = tuple(PROTOCOLS)
FROM2 = (2, 3, 4, 5)

# ---------------------------------------------------------------------------
# module-level user classes, one per pickling style
# ---------------------------------------------------------------------------


class Plain:
    def __init__(self, a: Any = 1, b: Any = None) -> None:
        self.a = a
        self.b = [a, str(a)] if b is None else b


def helper_function(x: Any) -> Any:
    return x


class WithReduce:
    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y
        self.total = x + y  # recomputed by __init__ on load

    def __reduce__(self) -> Any:
        return (WithReduce, (self.x, self.y))


class Bag:
    """__reduce__ with state, listitems and dictitems iterators."""

    def __init__(self) -> None:
        self.tag: Any = None
        self.calls: list[str] = []
        self.items: list[Any] = []
        self.mapping: dict[Any, Any] = {}

    def append(self, x: Any) -> None:
        self.calls.append("append")
        self.items.append(x)

    def extend(self, xs: Any) -> None:
        self.calls.append("extend")
        self.items.extend(xs)

    def __setitem__(self, k: Any, v: Any) -> None:
        self.calls.append("setitem")
        self.mapping[k] = v

    def __reduce__(self) -> Any:
        return (
            Bag,
            (),
            {"tag": self.tag},
            iter(self.items),
            iter(self.mapping.items()),
        )


class AppendOnly:
    """listitems target without extend(): APPENDS must fall back on append()."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def append(self, x: Any) -> None:
        self.items.append(("appended", x))

    def __reduce__(self) -> Any:
        return (AppendOnly, (), None, iter([x for _, x in self.items]))


def set_state_function(obj: Any, state: Any) -> None:
    obj.via_setter = state


class WithStateSetter:
    def __init__(self) -> None:
        self.payload = [1, 2]

    def __reduce__(self) -> Any:
        return (
            WithStateSetter,
            (),
            {"s": self.payload},
            None,
            None,
            set_state_function,
        )


class ReduceEx:
    def __init__(self, proto: Any = None) -> None:
        self.proto = proto

    def __reduce_ex__(self, protocol: int) -> Any:
        return (ReduceEx, (protocol,))


class GetSetState:
    def __init__(self, a: Any, b: Any) -> None:
        self.a = a
        self.b = b

    def __getstate__(self) -> Any:
        return (self.a, self.b, "v1")

    def __setstate__(self, state: Any) -> None:
        self.a, self.b, self.version = state


class FalsyState:
    """A falsy state is dropped at protocols 0-1 and kept (BUILD) at 2+."""

    def __init__(self) -> None:
        self.log: list[Any] = []

    def __getstate__(self) -> Any:
        return 0

    def __setstate__(self, state: Any) -> None:
        self.log = ["setstate", state]


class StateTuple:
    """No slots, but a (dict_state, slot_state) state.

    BUILD uses setattr for the second part.
    """

    def __init__(self) -> None:
        self.a = 1
        self.b = 2

    def __getstate__(self) -> Any:
        return ({"a": self.a}, {"b": self.b, "c": [3]})


class SlotsOnly:
    __slots__ = ("__p", "a", "b")

    def __init__(self) -> None:
        self.a = 1
        self.__p = [2]  # b stays unset


class SlotsChild(SlotsOnly):
    __slots__ = ("c",)

    def __init__(self) -> None:
        super().__init__()
        self.c = "child"


class SlotsAndDict:
    __slots__ = ("__dict__", "a")

    def __init__(self) -> None:
        self.a = (1, 2)
        self.extra = {"x": 3}


class SlotsCustomState:
    __slots__ = ("a", "b")

    def __init__(self, a: Any = 0, b: Any = 0) -> None:
        self.a = a
        self.b = b

    def __getstate__(self) -> Any:
        return [self.a, self.b]

    def __setstate__(self, state: Any) -> None:
        self.a, self.b = state


class NewArgs:
    inits = 0

    def __new__(cls, a: Any, b: Any) -> NewArgs:
        self = super().__new__(cls)
        self.a = a
        self.b = b
        return self

    def __init__(self, a: Any, b: Any) -> None:
        NewArgs.inits += 1

    def __getnewargs__(self) -> tuple[Any, ...]:
        return (self.a, self.b)


class NewArgsEx:
    def __new__(cls, a: Any, *, key: Any) -> NewArgsEx:
        self = super().__new__(cls)
        self.a = a
        self.key = key
        self.new_args = (a, key)
        return self

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return ((self.a,), {"key": self.key})


class MyList(list):  # type: ignore[type-arg]
    pass


class MyDict(dict):  # type: ignore[type-arg]
    pass


class MySet(set):  # type: ignore[type-arg]
    pass


class RecordingList(list):  # type: ignore[type-arg]
    """APPEND(S) on a list subclass must go through the overridden methods."""

    def append(self, x: Any) -> None:
        super().append(("append", x))

    def extend(self, xs: Any) -> None:
        super().extend(("extend", x) for x in xs)


class RecordingDict(dict):  # type: ignore[type-arg]
    """SETITEM(S) on a dict subclass must go through the overridden __setitem__."""

    def __setitem__(self, k: Any, v: Any) -> None:
        super().__setitem__(k, ("set", v))


class MyTuple(tuple):  # type: ignore[type-arg]
    pass


class MyInt(int):
    pass


class MyStr(str):
    pass


class Outer:
    class Inner:
        def __init__(self) -> None:
            self.v = "inner"

        class Deeper:
            def __init__(self) -> None:
                self.v = "deeper"


class Color(enum.Enum):
    RED = 1
    GREEN = "g"


@dataclasses.dataclass(frozen=True)
class FrozenPoint:
    """BUILD must write __dict__ directly (frozen __setattr__ raises)."""

    x: int
    y: list[int]


class NoSetattr:
    def __init__(self) -> None:
        object.__setattr__(self, "v", 1)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("read-only")


class MyError(Exception):
    def __init__(self, msg: str, code: int = 0) -> None:
        super().__init__(msg)
        self.code = code


Point = collections.namedtuple("Point", "x y")


class ExtSmall:
    def __init__(self) -> None:
        self.v = "EXT1"


class ExtMedium:
    def __init__(self) -> None:
        self.v = "EXT2"


class ExtLarge:
    def __init__(self) -> None:
        self.v = "EXT4"


class InitRecorder:
    def __init__(self, *args: Any) -> None:
        self.init_args = args


class Blob:
    """Holds a buffer; at protocol 5 it is pickled through a PickleBuffer."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def __reduce_ex__(self, protocol: int) -> Any:
        if protocol >= 5:
            return (Blob, (pickle.PickleBuffer(self.data),))
        return (Blob, (bytes(self.data),))


class Record:
    """Lives in an external 'database'; pickled by persistent id."""

    def __init__(self, key: str) -> None:
        self.key = key


class HookError(Exception):
    pass


def explode(*args: Any) -> Any:
    raise HookError("boom from a reduce callable")


class Exploding:
    def __reduce__(self) -> Any:
        return (explode, (1,))


class ExplodingSetstate:
    def __getstate__(self) -> Any:
        return {"x": 1}

    def __setstate__(self, state: Any) -> None:
        raise HookError("boom from __setstate__")


# ---------------------------------------------------------------------------
# case factories
# ---------------------------------------------------------------------------


def _with_attrs(obj: Any, **attrs: Any) -> Any:
    for k, v in attrs.items():
        setattr(obj, k, v)
    return obj


def _bag(n: int) -> Bag:
    b = Bag()
    b.tag = ("t", n)
    b.items.extend(range(n))
    b.mapping.update({str(i): i for i in range(n)})
    return b


def _append_only() -> AppendOnly:
    a = AppendOnly()
    for x in (1, "two", [3]):
        a.append(x)
    return a


def _recursive_object() -> Any:
    n = Plain("root")
    n.me = n
    n.kids = [n, Plain(n)]
    lst = [n]
    n.owner = lst
    return lst


def _recursive_list_subclass() -> Any:
    m = MyList([1])
    m.append(m)
    m.me = m
    d = MyDict(k=1)
    d["self"] = d
    d.attr = m
    return [m, d]


def _shared() -> Any:
    shared = Plain("shared")
    return {"x": shared, "y": [shared, Plain("other")], "z": (shared,)}


CASES: dict[str, tuple[Callable[[], Any], tuple[int, ...]]] = {
    "plain": (lambda: Plain(1, {"k": [Plain(2)]}), ALL),
    "function-and-class-refs": (
        lambda: [helper_function, Plain, Outer.Inner, Color],
        ALL,
    ),
    "reduce": (lambda: WithReduce(2, 3), ALL),
    "reduce-5-tuple": (lambda: _bag(3), ALL),
    "reduce-5-tuple-batched": (lambda: _bag(1005), ALL),
    "reduce-append-only": (_append_only, ALL),
    "reduce-state-setter": (WithStateSetter, ALL),
    "reduce-ex": (ReduceEx, ALL),
    "getstate-setstate": (lambda: GetSetState([1], {"b": 2}), ALL),
    "falsy-state": (FalsyState, ALL),
    "state-tuple": (StateTuple, ALL),
    "slots": (SlotsOnly, FROM2),
    "slots-child": (SlotsChild, FROM2),
    "slots-and-dict": (SlotsAndDict, FROM2),
    "slots-custom-state": (lambda: SlotsCustomState([1], "b"), ALL),
    "getnewargs": (lambda: NewArgs(1, [2]), ALL),
    "getnewargs-ex": (lambda: NewArgsEx("a", key=("k",)), ALL),
    "list-subclass": (
        lambda: _with_attrs(MyList([1, [2], "3"]), attr="x", other=[1]),
        ALL,
    ),
    "dict-subclass": (lambda: _with_attrs(MyDict(a=1, b=[2]), attr=("y",)), ALL),
    "list-subclass-overrides": (
        lambda: _with_attrs(RecordingList([1, 2]), attr=[3]),
        ALL,
    ),
    "dict-subclass-overrides": (
        lambda: _with_attrs(RecordingDict({"a": 1}), attr=1),
        ALL,
    ),
    "set-subclass": (lambda: _with_attrs(MySet({1, "two", (3,)}), attr=4), ALL),
    "tuple-subclass": (lambda: _with_attrs(MyTuple((1, [2])), attr=5), ALL),
    "int-subclass": (lambda: _with_attrs(MyInt(2**70), attr=6), ALL),
    "str-subclass": (lambda: _with_attrs(MyStr("s\u20ac"), attr=7), ALL),
    "nested-classes": (
        lambda: [Outer.Inner(), Outer.Inner.Deeper(), Outer.Inner.Deeper],
        ALL,
    ),
    "recursive-object": (_recursive_object, ALL),
    "recursive-subclasses": (
        _recursive_list_subclass,
        FROM2,
    ),  # copyreg._reconstructor recurses
    "shared-instances": (_shared, ALL),
    "enum": (lambda: [Color.RED, Color.GREEN, Color.RED], ALL),
    "frozen-dataclass": (lambda: FrozenPoint(1, [2]), ALL),
    "no-setattr": (NoSetattr, ALL),
    "exception-instance": (lambda: MyError("bad", code=3), ALL),
    "namedtuple": (lambda: Point(1, [2]), ALL),
    "stdlib": (
        lambda: [
            collections.OrderedDict(a=1, b=[2]),
            collections.deque([1, 2, 3], maxlen=5),
            collections.defaultdict(list, {"a": [1]}),
            collections.Counter("abracadabra"),
            datetime.datetime(2020, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc),
            datetime.date(1999, 12, 31),
            datetime.timedelta(days=-1, microseconds=5),
            decimal.Decimal("-1.10"),
            fractions.Fraction(1, 3),
            uuid.UUID(int=12345),
            types.SimpleNamespace(a=1, b=[2]),
            re.compile("a+b", re.IGNORECASE),
            array.array("i", [1, -2, 3]),
            reprlib.Repr(),
        ],
        ALL,
    ),
}


def _dumpers() -> dict[str, Callable[[Any, int], bytes]]:
    return {
        "c": lambda x, p: pickle.dumps(x, p),
        "py": lambda x, p: pickle._dumps(x, p),  # type: ignore[attr-defined]
    }


class RealUnpickler(emulpickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return real_find_class(module, name)


def assert_like_pickle(data: bytes, got: Any) -> None:
    """got must be what CPython's C unpickler gives, or else what its Python one gives.

    (They differ in one corner: APPEND on a non-list calls ``extend([x])`` in C
    and ``append(x)`` in Python.)
    """
    try:
        assert_same(pickle.loads(data), got)
    except AssertionError as exc_c:
        try:
            assert_same(pickle._loads(data), got)  # type: ignore[attr-defined]
        except AssertionError:
            raise exc_c from None


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("case", list(CASES))
def test_user_class_matches_pickle(case: str, protocol: int) -> None:
    factory, protocols = CASES[case]
    if protocol not in protocols:
        with pytest.raises(
            (TypeError, RecursionError)
        ):  # pickle itself cannot: nothing to compare
            pickle.dumps(factory(), protocol)
        return
    for dumper_name, dump in _dumpers().items():
        data = dump(factory(), protocol)
        try:
            assert_like_pickle(data, emulpickle.loads(data, find_class=real_find_class))
            assert_like_pickle(
                data, emulpickle.load(io.BytesIO(data), find_class=real_find_class)
            )
            assert_like_pickle(
                data,
                emulpickle.Unpickler(
                    io.BytesIO(data), find_class=real_find_class
                ).load(),
            )
            assert_like_pickle(data, RealUnpickler(io.BytesIO(data)).load())
        except AssertionError as exc:
            raise AssertionError(f"[{dumper_name} pickler] {exc}") from None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    x=builtin_values,
    y=builtin_values,
    kind=st.sampled_from(
        ["plain", "getstate", "list-subclass", "dict-subclass", "newargs", "slots"]
    ),
    protocol=st.sampled_from(PROTOCOLS),
)
def test_user_objects_holding_arbitrary_values(
    x: Any, y: Any, kind: str, protocol: int
) -> None:
    if kind == "plain":
        obj: Any = Plain(x, y)
    elif kind == "getstate":
        obj = GetSetState(x, [y, x])
    elif kind == "list-subclass":
        obj = _with_attrs(MyList([x, y]), attr=x)
    elif kind == "dict-subclass":
        obj = _with_attrs(MyDict(k=x), attr=y)
    elif kind == "newargs":
        obj = NewArgs(x, y)
    else:
        obj = SlotsCustomState(x, y)
    value = [obj, x, obj]
    data = pickle.dumps(value, protocol)
    got = emulpickle.loads(data, find_class=real_find_class)
    assert_like_pickle(data, got)
    assert got[0] is got[2]


def test_cases_are_meaningful() -> None:
    """Guard against comparisons that compare nothing."""
    bag = pickle.loads(pickle.dumps(_bag(3), 2))
    assert bag.calls == ["extend", "setitem", "setitem", "setitem"]
    got = emulpickle.loads(pickle.dumps(_bag(3), 2), find_class=real_find_class)
    assert type(got) is Bag and got.calls == bag.calls and got.items == [0, 1, 2]
    assert got.tag == ("t", 3) and got.mapping == {"0": 0, "1": 1, "2": 2}
    with pytest.raises(AssertionError):
        assert_same(Plain(1), Plain(2))
    with pytest.raises(AssertionError):
        assert_same(SlotsOnly(), SlotsChild())
    x = Plain(1)
    with pytest.raises(AssertionError):
        assert_same([x, x], [Plain(1), Plain(1)])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_specific_semantics(protocol: int) -> None:
    """Spot checks of what the differential comparison relies on."""
    kw = {"find_class": real_find_class}
    assert emulpickle.loads(pickle.dumps(ReduceEx(), protocol), **kw).proto == protocol
    w = emulpickle.loads(pickle.dumps(WithReduce(2, 3), protocol), **kw)
    assert type(w) is WithReduce and w.total == 5
    g = emulpickle.loads(pickle.dumps(GetSetState(1, 2), protocol), **kw)
    assert (g.a, g.b, g.version) == (1, 2, "v1")
    f = emulpickle.loads(pickle.dumps(FalsyState(), protocol), **kw)
    assert getattr(f, "log", None) == (None if protocol < 2 else ["setstate", 0])
    s = emulpickle.loads(pickle.dumps(WithStateSetter(), protocol), **kw)
    assert s.via_setter == {"s": [1, 2]} and s.payload == [1, 2]
    a = emulpickle.loads(pickle.dumps(_append_only(), protocol), **kw)
    assert a.items == [("appended", 1), ("appended", "two"), ("appended", [3])]
    e = emulpickle.loads(pickle.dumps(NewArgsEx(1, key=2), protocol), **kw)
    assert type(e) is NewArgsEx and e.key == 2
    data = pickle.dumps(NewArgs(1, 2), protocol)
    before = NewArgs.inits
    n = emulpickle.loads(data, **kw)
    assert NewArgs.inits == before and (n.a, n.b) == (
        1,
        2,
    )  # NEWOBJ / _reconstructor skip __init__
    p = emulpickle.loads(pickle.dumps(FrozenPoint(1, [2]), protocol), **kw)
    assert p == FrozenPoint(1, [2])
    lst = emulpickle.loads(pickle.dumps(_recursive_object(), protocol), **kw)
    assert lst[0].me is lst[0] and lst[0].owner is lst and lst[0].kids[1].a is lst[0]
    colors = emulpickle.loads(pickle.dumps([Color.RED, Color.GREEN], protocol), **kw)
    assert colors[0] is Color.RED and colors[1] is Color.GREEN
    refs = emulpickle.loads(
        pickle.dumps([helper_function, Outer.Inner.Deeper], protocol), **kw
    )
    assert refs[0] is helper_function and refs[1] is Outer.Inner.Deeper
    if protocol >= 2:
        st = emulpickle.loads(pickle.dumps(SlotsChild(), protocol), **kw)
        assert (st.a, st._SlotsOnly__p, st.c) == (1, [2], "child") and not hasattr(
            st, "b"
        )


# ---------------------------------------------------------------------------
# INST / OBJ (never written by modern picklers; handcrafted)
# ---------------------------------------------------------------------------

M = __name__.encode()


@pytest.mark.parametrize(
    "data",
    [
        b"(i"
        + M
        + b"\nInitRecorder\n.",  # INST, no args: __new__ only, __init__ not called
        b"(I1\nS'x'\ni" + M + b"\nInitRecorder\n.",  # INST with args: cls(*args)
        b"(i" + M + b"\nInitRecorder\n(dp0\nS'k'\np1\nI2\nsb.",  # INST then BUILD
        b"(c" + M + b"\nInitRecorder\no.",  # OBJ, no args
        b"(c" + M + b"\nInitRecorder\nK\x01K\x02o.",  # OBJ with args
        b"(c" + M + b"\nMyList\no.",  # OBJ on a list subclass
    ],
    ids=["inst", "inst-args", "inst-build", "obj", "obj-args", "obj-list-subclass"],
)
def test_inst_and_obj_opcodes(data: bytes) -> None:
    expected = pickle.loads(data)
    got = emulpickle.loads(data, find_class=real_find_class)
    assert_same(expected, got)
    assert type(got) is type(expected)


# ---------------------------------------------------------------------------
# copyreg extension codes
# ---------------------------------------------------------------------------

EXT_CODES = {ExtSmall: 0xF1, ExtMedium: 0xBEEF, ExtLarge: 0x12345678}
EXT_OPCODES = {ExtSmall: "EXT1", ExtMedium: "EXT2", ExtLarge: "EXT4"}


@pytest.fixture
def extensions() -> Iterator[None]:
    for cls, code in EXT_CODES.items():
        assert code not in copyreg._inverted_registry  # type: ignore[attr-defined]
        copyreg.add_extension(cls.__module__, cls.__qualname__, code)
    try:
        yield
    finally:
        for cls, code in EXT_CODES.items():
            copyreg.remove_extension(cls.__module__, cls.__qualname__, code)
        copyreg.clear_extension_cache()


def _opnames(data: bytes) -> list[str]:
    return [op.name for op, _, _ in pickletools.genops(data)]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("cls", list(EXT_CODES), ids=lambda c: c.__name__)
def test_extension_codes(extensions: None, cls: type, protocol: int) -> None:
    obj = [cls(), cls(), cls]
    data = pickle.dumps(obj, protocol)
    if protocol >= 2:
        assert EXT_OPCODES[cls] in _opnames(data)
    expected = pickle.loads(data)
    seen: list[Any] = []
    got = emulpickle.loads(data, find_class=recording(real_find_class, seen))
    assert_same(expected, got)
    assert got[2] is cls
    assert (
        cls.__module__,
        cls.__qualname__,
    ) in seen  # default get_extension goes through find_class
    assert_same(expected, RealUnpickler(io.BytesIO(data)).load())

    # a get_extension hook replaces the copyreg lookup
    codes: list[int] = []
    by_code = {code: c for c, code in EXT_CODES.items()}

    def get_extension(code: int) -> Any:
        codes.append(code)
        return by_code[code]

    def no_find_class(module: str, name: str) -> Any:
        if protocol >= 2 and (module, name) == (cls.__module__, cls.__qualname__):
            raise AssertionError(
                "find_class must not be asked for an extension-coded global"
            )
        return real_find_class(module, name)

    got = emulpickle.loads(data, find_class=no_find_class, get_extension=get_extension)
    assert_same(expected, got)
    if protocol >= 2:
        assert codes and set(codes) == {EXT_CODES[cls]}

    class ExtUnpickler(RealUnpickler):
        def get_extension(self, code: int) -> Any:
            codes.append(-code)
            return by_code[code]

    codes.clear()
    assert_same(expected, ExtUnpickler(io.BytesIO(data)).load())
    if protocol >= 2:
        assert codes and set(codes) == {-EXT_CODES[cls]}


def test_unregistered_extension_code_is_an_error(extensions: None) -> None:
    data = pickle.dumps(ExtMedium(), 2)
    copyreg.remove_extension(
        ExtMedium.__module__, ExtMedium.__qualname__, EXT_CODES[ExtMedium]
    )
    copyreg.clear_extension_cache()
    try:
        with pytest.raises(ValueError):  # pickle: "unregistered extension code"
            pickle.loads(data)
        with pytest.raises((ValueError, pickle.UnpicklingError)):
            emulpickle.loads(data, find_class=real_find_class)
    finally:
        copyreg.add_extension(
            ExtMedium.__module__, ExtMedium.__qualname__, EXT_CODES[ExtMedium]
        )


# ---------------------------------------------------------------------------
# protocol 5 out-of-band buffers
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# persistent ids
# ---------------------------------------------------------------------------

DATABASE = {"k1": Record("k1"), "k2": Record("k2")}


class PidPickler(pickle.Pickler):
    def __init__(self, file: Any, protocol: int) -> None:
        super().__init__(file, protocol)
        self.text_pids = protocol == 0

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, Record):
            return obj.key if self.text_pids else ("record", obj.key)
        if obj == "int-pid-marker":
            return None if self.text_pids else 42
        return None


def _pid_pickle(protocol: int) -> bytes:
    f = io.BytesIO()
    PidPickler(f, protocol).dump(
        {
            "a": DATABASE["k1"],
            "b": [DATABASE["k2"], DATABASE["k1"]],
            "c": Plain(DATABASE["k2"]),
            "d": "int-pid-marker",
        }
    )
    return f.getvalue()


def _resolve(pid: Any) -> Any:
    if pid == 42:
        return "resolved-int-pid"
    return DATABASE[pid if isinstance(pid, str) else pid[1]]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_persistent_load_callback_and_method(protocol: int) -> None:
    data = _pid_pickle(protocol)
    assert ("PERSID" if protocol == 0 else "BINPERSID") in _opnames(data)

    pick_calls: list[Any] = []

    class PickleU(pickle.Unpickler):
        def persistent_load(self, pid: Any) -> Any:
            pick_calls.append(pid)
            return _resolve(pid)

    expected = PickleU(io.BytesIO(data)).load()
    assert expected["a"] is DATABASE["k1"] and expected["c"].a is DATABASE["k2"]

    calls: list[Any] = []
    got = emulpickle.loads(
        data, find_class=real_find_class, persistent_load=recording(_resolve, calls)
    )
    assert_same(expected, got)
    assert (
        got["a"] is DATABASE["k1"]
        and got["b"][1] is DATABASE["k1"]
        and got["c"].a is DATABASE["k2"]
    )
    assert [c[0] for c in calls] == pick_calls

    method_calls: list[Any] = []

    class EmulU(RealUnpickler):
        def persistent_load(self, pid: Any) -> Any:
            method_calls.append(pid)
            return _resolve(pid)

    got = EmulU(io.BytesIO(data)).load()
    assert_same(expected, got)
    assert method_calls == pick_calls


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_persistent_id_without_persistent_load_is_an_error(protocol: int) -> None:
    data = _pid_pickle(protocol)
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(data)
    with pytest.raises(pickle.UnpicklingError):
        emulpickle.loads(data, find_class=real_find_class)


# ---------------------------------------------------------------------------
# Python 2 names, fix_imports, encoding
# ---------------------------------------------------------------------------


def _py2_names_value() -> Any:
    return [
        reprlib.Repr(),
        collections.UserDict(a=1),
        collections.UserList([1]),
        ValueError("x"),
        range(3),
        set,
        str,
        functools.reduce,
        {1, 2},
        b"bytes",
    ]


def _globals_in(data: bytes) -> list[tuple[str, str]]:
    return [
        tuple(arg.split(" ", 1))
        for op, arg, _ in pickletools.genops(data)  # type: ignore[misc]
        if op.name == "GLOBAL"
    ]


@pytest.mark.parametrize("protocol", [0, 1, 2])
def test_python2_names_are_mapped_before_the_hook(protocol: int) -> None:
    data = pickle.dumps(_py2_names_value(), protocol, fix_imports=True)
    raw = _globals_in(data)
    assert ("repr", "Repr") in raw or protocol < 2  # reprlib renamed (module only)
    assert ("UserDict", "IterableUserDict") in raw
    assert ("__builtin__", "set") in raw and ("exceptions", "ValueError") in raw
    if protocol < 2:
        assert ("copy_reg", "_reconstructor") in raw

    expected = pickle.loads(data)
    seen: list[Any] = []
    got = emulpickle.loads(data, find_class=recording(real_find_class, seen))
    assert_same(expected, got)
    py2_modules = {m for m, _ in _compat_pickle.IMPORT_MAPPING.items()} | {
        "exceptions",
        "__builtin__",
    }
    assert not [s for s in seen if s[0] in py2_modules], seen
    for name in [
        ("reprlib", "Repr"),
        ("collections", "UserDict"),
        ("builtins", "ValueError"),
        ("builtins", "range"),
        ("builtins", "set"),
        ("functools", "reduce"),
    ]:
        if name == ("reprlib", "Repr") and protocol < 2:
            continue
        assert name in seen, (name, seen)
    if protocol < 2:
        assert ("copyreg", "_reconstructor") in seen

    # the same through an overridden method
    method_seen: list[Any] = []

    class U(emulpickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            method_seen.append((module, name))
            return real_find_class(module, name)

    assert_same(expected, U(io.BytesIO(data)).load())
    assert method_seen == seen


def test_renamed_module_class_protocol2() -> None:
    """reprlib.Repr is written as 'repr Repr' at protocol 2; the hook sees 'reprlib'."""
    data = pickle.dumps(reprlib.Repr(), 2)
    assert ("repr", "Repr") in _globals_in(data)
    seen: list[Any] = []
    got = emulpickle.loads(data, find_class=recording(real_find_class, seen))
    assert seen == [("reprlib", "Repr")]
    assert_same(pickle.loads(data), got)


@pytest.mark.parametrize("protocol", [0, 1, 2])
def test_fix_imports_false_passes_raw_names(protocol: int) -> None:
    data = pickle.dumps(_py2_names_value(), protocol)
    seen: list[Any] = []

    def mapping_hook(module: str, name: str) -> Any:
        seen.append((module, name))
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        return real_find_class(module, name)

    got = emulpickle.loads(data, find_class=mapping_hook, fix_imports=False)
    assert_same(pickle.loads(data), got)
    assert ("__builtin__", "set") in seen and ("UserDict", "IterableUserDict") in seen
    assert ("exceptions", "ValueError") in seen


def test_no_mapping_at_protocol_3() -> None:
    data = b"\x80\x03c__builtin__\nset\nq\x00."
    with pytest.raises(ModuleNotFoundError):
        pickle.loads(data)  # CPython maps only when proto < 3
    seen: list[Any] = []
    sentinel = object()
    got = emulpickle.loads(data, find_class=recording(lambda m, n: sentinel, seen))
    assert got is sentinel and seen == [("__builtin__", "set")]
    # ...whereas the same global at protocol 2 is mapped
    seen.clear()
    emulpickle.loads(
        b"\x80\x02c__builtin__\nset\nq\x00.",
        find_class=recording(lambda m, n: sentinel, seen),
    )
    assert seen == [("builtins", "set")]


PY2_STRINGS = [
    b"S'caf\\xe9'\np0\n.",  # STRING
    b"U\x04caf\xe9q\x00.",  # SHORT_BINSTRING
    b"T\x04\x00\x00\x00caf\xe9q\x00.",  # BINSTRING
    b"(S'a'\nU\x01\xffT\x02\x00\x00\x00\x00\x80l.",  # list of str
]


@pytest.mark.parametrize("data", PY2_STRINGS)
@pytest.mark.parametrize(
    "options",
    [
        {"encoding": "latin1"},
        {"encoding": "bytes"},
        {"encoding": "ascii", "errors": "replace"},
        {"encoding": "ascii", "errors": "surrogateescape"},
        {"encoding": "utf-8", "errors": "backslashreplace"},
    ],
    ids=lambda o: "-".join(o.values()),
)
def test_python2_str_encoding(data: bytes, options: dict[str, str]) -> None:
    expected = pickle.loads(data, **options)
    assert_same(expected, emulpickle.loads(data, **options))
    assert_same(expected, emulpickle.loads(data, find_class=real_find_class, **options))


def test_python2_datetime_with_latin1() -> None:
    data = (
        b"cdatetime\ndatetime\np0\n(S'\\x07\\xdf\\x01\\x02\\x03\\x04\\x05\\x00\\x00\\x06'\np1\ntp2\n"
        b"Rp3\n."
    )
    expected = pickle.loads(data, encoding="latin1")
    assert expected == datetime.datetime(2015, 1, 2, 3, 4, 5, 6)
    assert_same(
        expected, emulpickle.loads(data, find_class=real_find_class, encoding="latin1")
    )


# ---------------------------------------------------------------------------
# hooks: exceptions propagate unchanged
# ---------------------------------------------------------------------------


def _raiser(err: BaseException) -> Callable[..., Any]:
    def hook(*args: Any) -> Any:
        raise err

    return hook


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_find_class_exception_propagates(protocol: int) -> None:
    data = pickle.dumps(Plain(), protocol)
    err = HookError("from find_class")
    with pytest.raises(HookError) as info:
        emulpickle.loads(data, find_class=_raiser(err))
    assert info.value is err

    class U(emulpickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            raise err

    with pytest.raises(HookError) as info:
        U(io.BytesIO(data)).load()
    assert info.value is err

    # BaseException subclasses are not swallowed either
    class Abort(BaseException):
        pass

    abort = Abort()
    with pytest.raises(Abort) as info3:
        emulpickle.loads(data, find_class=_raiser(abort))
    assert info3.value is abort
    # builtin exceptions too: not turned into UnpicklingError
    lookup_err = KeyError("missing")
    with pytest.raises(KeyError) as info2:
        emulpickle.loads(data, find_class=_raiser(lookup_err))
    assert info2.value is lookup_err


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_persistent_load_exception_propagates(protocol: int) -> None:
    data = _pid_pickle(protocol)
    err = HookError("from persistent_load")
    with pytest.raises(HookError) as info:
        emulpickle.loads(data, find_class=real_find_class, persistent_load=_raiser(err))
    assert info.value is err

    class U(RealUnpickler):
        def persistent_load(self, pid: Any) -> Any:
            raise err

    with pytest.raises(HookError) as info:
        U(io.BytesIO(data)).load()
    assert info.value is err


def test_get_extension_exception_propagates(extensions: None) -> None:
    data = pickle.dumps(ExtSmall(), 2)
    err = HookError("from get_extension")
    with pytest.raises(HookError) as info:
        emulpickle.loads(data, find_class=real_find_class, get_extension=_raiser(err))
    assert info.value is err

    class U(RealUnpickler):
        def get_extension(self, code: int) -> Any:
            raise err

    with pytest.raises(HookError) as info:
        U(io.BytesIO(data)).load()
    assert info.value is err


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


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_exceptions_from_real_code_propagate(protocol: int) -> None:
    """Code reached through objects the hook returned raises through load unchanged."""
    for obj in (Exploding(), ExplodingSetstate()):
        data = pickle.dumps(obj, protocol)
        with pytest.raises(HookError):
            pickle.loads(data)
        with pytest.raises(HookError):
            emulpickle.loads(data, find_class=real_find_class)


def test_hook_options_on_unpickler_constructor() -> None:
    data = _pid_pickle(2)
    u = emulpickle.Unpickler(
        io.BytesIO(data), find_class=real_find_class, persistent_load=_resolve
    )
    got = u.load()
    assert got["a"] is DATABASE["k1"] and got["d"] == "resolved-int-pid"
    assert type(got["c"]) is Plain


# Pickles written by Python 2.7.18's pickle.dumps(obj, protocol), protocols 0, 1, 2.
# Builtins only: {'str': 'caf\xe9', 'unicode': u'caf\xe9\u20ac\U0001f600',
# 'long': 2**70, 'neg': -2**40, 'set': set([1, 2]), 'fs': frozenset(['a']),
# 'xr': xrange(1, 10, 2), 'tuple': (1.5, None, True, -0.0), 'bytes': '\x00\xff',
# 'shared': ['x'*3]*2, 'big': 'y'*300}
# ('Y300' stands for the 300 'y's.)
PY2_BUILTIN_PICKLES = [
    (
        b"(dp0\nS'set'\np1\nc__builtin__\nset\np2\n((lp3\nI1\naI2\natp4\nRp5\nsS'tuple"
        b"'\np6\n(F1.5\nNI01\nF-0.0\ntp7\nsS'big'\np8\nS'Y300'\np9\nsS'fs'\np10\nc__bu"
        b"iltin__\nfrozenset\np11\n((lp12\nS'a'\np13\natp14\nRp15\nsS'unicode'\np16\nV"
        b"caf\xe9\\u20ac\\U0001f600\np17\nsS'xr'\np18\nc__builtin__\nxrange\np19\n(I1"
        b"\nI11\nI2\ntp20\nRp21\nsS'neg'\np22\nI-1099511627776\nsS'bytes'\np23\nS'\\x0"
        b"0\\xff'\np24\nsS'long'\np25\nL1180591620717411303424L\nsS'str'\np26\nS'caf\\"
        b"xe9'\np27\nsS'shared'\np28\n(lp29\nS'xxx'\np30\nag30\nas."
    ).replace(b"Y300", b"y" * 300),
    (
        b"}q\x00(U\x03setq\x01c__builtin__\nset\nq\x02(]q\x03(K\x01K\x02etq\x04Rq\x05U"
        b"\x05tupleq\x06(G?\xf8\x00\x00\x00\x00\x00\x00NI01\nG\x80\x00\x00\x00\x00\x00"
        b"\x00\x00tq\x07U\x03bigq\x08T,\x01\x00\x00Y300q\tU\x02fsq\nc__builtin__\nfroz"
        b"enset\nq\x0b(]q\x0cU\x01aq\ratq\x0eRq\x0fU\x07unicodeq\x10X\x0c\x00\x00\x00c"
        b"af\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80q\x11U\x02xrq\x12c__builtin__\nxrange"
        b"\nq\x13(K\x01K\x0bK\x02tq\x14Rq\x15U\x03negq\x16I-1099511627776\nU\x05bytesq"
        b"\x17U\x02\x00\xffq\x18U\x04longq\x19L1180591620717411303424L\nU\x03strq\x1aU"
        b"\x04caf\xe9q\x1bU\x06sharedq\x1c]q\x1d(U\x03xxxq\x1eh\x1eeu."
    ).replace(b"Y300", b"y" * 300),
    (
        b"\x80\x02}q\x00(U\x03setq\x01c__builtin__\nset\nq\x02]q\x03(K\x01K\x02e\x85q"
        b"\x04Rq\x05U\x05tupleq\x06(G?\xf8\x00\x00\x00\x00\x00\x00N\x88G\x80\x00\x00"
        b"\x00\x00\x00\x00\x00tq\x07U\x03bigq\x08T,\x01\x00\x00Y300q\tU\x02fsq\nc__bui"
        b"ltin__\nfrozenset\nq\x0b]q\x0cU\x01aq\ra\x85q\x0eRq\x0fU\x07unicodeq\x10X"
        b"\x0c\x00\x00\x00caf\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80q\x11U\x02xrq\x12c__b"
        b"uiltin__\nxrange\nq\x13K\x01K\x0bK\x02\x87q\x14Rq\x15U\x03negq\x16I-10995116"
        b"27776\nU\x05bytesq\x17U\x02\x00\xffq\x18U\x04longq\x19\x8a\t\x00\x00\x00\x00"
        b"\x00\x00\x00\x00@U\x03strq\x1aU\x04caf\xe9q\x1bU\x06sharedq\x1c]q\x1d(U\x03x"
        b"xxq\x1eh\x1eeu."
    ).replace(b"Y300", b"y" * 300),
]

# With stdlib objects: adds datetime.datetime, datetime.date, collections.OrderedDict,
# decimal.Decimal to the above (without 'shared' and 'big').
PY2_STDLIB_PICKLES = [
    (
        b"(dp0\nS'set'\np1\nc__builtin__\nset\np2\n((lp3\nI1\naI2\natp4\nRp5\nsS'tuple"
        b"'\np6\n(F1.5\nNI01\ntp7\nsS'int'\np8\nI7\nsS'xr'\np9\nc__builtin__\nxrange\n"
        b"p10\n(I1\nI11\nI2\ntp11\nRp12\nsS'fs'\np13\nc__builtin__\nfrozenset\np14\n(("
        b"lp15\nS'a'\np16\natp17\nRp18\nsS'unicode'\np19\nVcaf\xe9\\u20ac\np20\nsS'dat"
        b"e'\np21\ncdatetime\ndate\np22\n(S'\\x07\\xd0\\x01\\x01'\np23\ntp24\nRp25\nsS"
        b"'dt'\np26\ncdatetime\ndatetime\np27\n(S'\\x07\\xdf\\x01\\x02\\x03\\x04\\x05"
        b"\\x00\\x00\\x06'\np28\ntp29\nRp30\nsS'neg'\np31\nI-1099511627776\nsS'od'\np3"
        b"2\nccollections\nOrderedDict\np33\n((lp34\n(lp35\ng16\naI1\naatp36\nRp37\nsS"
        b"'bytes'\np38\nS'\\x00\\xff'\np39\nsS'long'\np40\nL1180591620717411303424L\ns"
        b"S'str'\np41\nS'caf\\xe9'\np42\nsS'dec'\np43\ncdecimal\nDecimal\np44\n(S'1.5'"
        b"\np45\ntp46\nRp47\ns."
    ),
    (
        b"}q\x00(U\x03setq\x01c__builtin__\nset\nq\x02(]q\x03(K\x01K\x02etq\x04Rq\x05U"
        b"\x05tupleq\x06(G?\xf8\x00\x00\x00\x00\x00\x00NI01\ntq\x07U\x03intq\x08K\x07U"
        b"\x02xrq\tc__builtin__\nxrange\nq\n(K\x01K\x0bK\x02tq\x0bRq\x0cU\x02fsq\rc__b"
        b"uiltin__\nfrozenset\nq\x0e(]q\x0fU\x01aq\x10atq\x11Rq\x12U\x07unicodeq\x13X"
        b"\x08\x00\x00\x00caf\xc3\xa9\xe2\x82\xacq\x14U\x04dateq\x15cdatetime\ndate\nq"
        b"\x16(U\x04\x07\xd0\x01\x01q\x17tq\x18Rq\x19U\x02dtq\x1acdatetime\ndatetime\n"
        b"q\x1b(U\n\x07\xdf\x01\x02\x03\x04\x05\x00\x00\x06q\x1ctq\x1dRq\x1eU\x03negq"
        b'\x1fI-1099511627776\nU\x02odq ccollections\nOrderedDict\nq!(]q"]q#(h\x10K'
        b"\x01eatq$Rq%U\x05bytesq&U\x02\x00\xffq'U\x04longq(L1180591620717411303424L"
        b"\nU\x03strq)U\x04caf\xe9q*U\x03decq+cdecimal\nDecimal\nq,(U\x031.5q-tq.Rq/u."
    ),
    (
        b"\x80\x02}q\x00(U\x03setq\x01c__builtin__\nset\nq\x02]q\x03(K\x01K\x02e\x85q"
        b"\x04Rq\x05U\x05tupleq\x06G?\xf8\x00\x00\x00\x00\x00\x00N\x88\x87q\x07U\x03in"
        b"tq\x08K\x07U\x02xrq\tc__builtin__\nxrange\nq\nK\x01K\x0bK\x02\x87q\x0bRq\x0c"
        b"U\x02fsq\rc__builtin__\nfrozenset\nq\x0e]q\x0fU\x01aq\x10a\x85q\x11Rq\x12U"
        b"\x07unicodeq\x13X\x08\x00\x00\x00caf\xc3\xa9\xe2\x82\xacq\x14U\x04dateq\x15c"
        b"datetime\ndate\nq\x16U\x04\x07\xd0\x01\x01q\x17\x85q\x18Rq\x19U\x02dtq\x1acd"
        b"atetime\ndatetime\nq\x1bU\n\x07\xdf\x01\x02\x03\x04\x05\x00\x00\x06q\x1c\x85"
        b"q\x1dRq\x1eU\x03negq\x1fI-1099511627776\nU\x02odq ccollections\nOrderedDict"
        b"\nq!]q\"]q#(h\x10K\x01ea\x85q$Rq%U\x05bytesq&U\x02\x00\xffq'U\x04longq(\x8a"
        b"\t\x00\x00\x00\x00\x00\x00\x00\x00@U\x03strq)U\x04caf\xe9q*U\x03decq+cdecima"
        b"l\nDecimal\nq,U\x031.5q-\x85q.Rq/u."
    ),
]


@pytest.mark.parametrize(
    "data", PY2_BUILTIN_PICKLES, ids=["py2-proto0", "py2-proto1", "py2-proto2"]
)
@pytest.mark.parametrize("encoding", ["latin1", "bytes"])
def test_real_python2_pickles_default_registry(data: bytes, encoding: str) -> None:
    expected = pickle.loads(data, encoding=encoding)
    got = emulpickle.loads(data, encoding=encoding)
    assert_same(expected, got)

    def key(k: str) -> Any:  # Python 2 str keys are bytes with encoding="bytes"
        return k.encode() if encoding == "bytes" else k

    assert got[key("xr")] == range(1, 11, 2) and type(got[key("xr")]) is range
    assert got[key("shared")][0] is got[key("shared")][1]
    assert got[key("unicode")] == "caf\xe9\u20ac\U0001f600"
    assert got[key("str")] == ("caf\xe9" if encoding == "latin1" else b"caf\xe9")


@pytest.mark.parametrize(
    "data", PY2_STDLIB_PICKLES, ids=["py2-proto0", "py2-proto1", "py2-proto2"]
)
def test_real_python2_pickles_trusting(data: bytes) -> None:
    expected = pickle.loads(data, encoding="latin1")
    seen: list[Any] = []
    got = emulpickle.loads(
        data, encoding="latin1", find_class=recording(real_find_class, seen)
    )
    assert_same(expected, got)
    assert got["dt"] == datetime.datetime(2015, 1, 2, 3, 4, 5, 6)
    assert sorted(set(seen)) == sorted(
        {
            ("builtins", "set"),
            ("builtins", "frozenset"),
            ("builtins", "range"),
            ("datetime", "datetime"),
            ("datetime", "date"),
            ("collections", "OrderedDict"),
            ("decimal", "Decimal"),
        }
    )
