"""emulpickle with a trusting ``find_class`` (one that imports real globals).

With such a hook emulpickle must behave exactly like ``pickle``: every
pickling style of user classes, recursive structures, copyreg extension codes,
out-of-band buffers, persistent ids and Python 2 names load to the same thing
``pickle.loads`` gives.  Hooks may also be overridden methods of an
``emulpickle.Unpickler`` subclass, and exceptions raised inside hooks
propagate unchanged.

This file: user classes of every pickling style (REDUCE, NEWOBJ, BUILD,
INST, OBJ) and exceptions from find_class and from the code it returns;
extension codes, buffers, persistent ids and Python 2 pickles are in this
folder's other files.
"""

from __future__ import annotations

import array
import collections
import dataclasses
import datetime
import decimal
import enum
import fractions
import io
import pickle
import re
import reprlib
import types
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from helpers.strategies import assert_same, builtin_values, real_find_class
from helpers.trusting import PROTOCOLS, HookError, Plain, RealUnpickler, _raiser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emulpickle

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

ALL = tuple(PROTOCOLS)
FROM2 = (2, 3, 4, 5)

# ---------------------------------------------------------------------------
# module-level user classes, one per pickling style
# ---------------------------------------------------------------------------


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


class InitRecorder:
    def __init__(self, *args: Any) -> None:
        self.init_args = args


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
# hooks: exceptions propagate unchanged
# ---------------------------------------------------------------------------


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
def test_exceptions_from_real_code_propagate(protocol: int) -> None:
    """Code reached through objects the hook returned raises through load unchanged."""
    for obj in (Exploding(), ExplodingSetstate()):
        data = pickle.dumps(obj, protocol)
        with pytest.raises(HookError):
            pickle.loads(data)
        with pytest.raises(HookError):
            emulpickle.loads(data, find_class=real_find_class)
