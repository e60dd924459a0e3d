"""Generic objects (``unknown="generic"``), ``generic_getattr`` and ``to_builtins``."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import math
import pathlib
import pickle
import time
import types
import uuid
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import emulpickle
from emulpickle import EmulationError, GenericClass, GenericObject
from emulpickle.convert import to_builtins
from emulpickle.generic import GenericAttribute, generic_getattr

MOD = __name__


def generic_load(obj: object, protocol: int = pickle.HIGHEST_PROTOCOL) -> Any:
    return emulpickle.loads(pickle.dumps(obj, protocol=protocol), unknown="generic")


# --------------------------------------------------------------- user classes


@dataclasses.dataclass
class Config:
    lr: float
    layers: list[int]


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a: object, b: object) -> None:
        self.a = a
        self.b = b


class Reduced:
    def __init__(self, x: object, y: object) -> None:
        self.x = x
        self.y = y

    def __reduce__(self) -> tuple[object, ...]:
        return (Reduced, (self.x, self.y))


class MyList(list):  # type: ignore[type-arg]
    pass


class MyDict(dict):  # type: ignore[type-arg]
    pass


class Node:
    def __init__(self) -> None:
        self.children: list[Node] = []
        self.parent: Node | None = None


# ------------------------------------------------------------ generic loading


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_dataclass_becomes_generic_object(protocol: int) -> None:
    obj = generic_load(Config(0.1, [64, 64]), protocol)
    assert isinstance(obj, GenericObject)
    assert obj.cls == GenericClass(MOD, "Config")
    assert obj.state == {"lr": 0.1, "layers": [64, 64]}
    assert obj.list_items == [] and obj.dict_items == {} and obj.set_items == []
    assert repr(obj) == f"{MOD}.Config(lr=0.1, layers=[64, 64])"
    assert to_builtins(obj) == {
        "$generic": f"{MOD}.Config",
        "state": {"lr": 0.1, "layers": [64, 64]},
    }


def test_slots_state() -> None:
    obj = generic_load(Slotted(1, "x"))
    assert obj.args == ()
    assert obj.state == (None, {"a": 1, "b": "x"})
    assert repr(obj) == f"{MOD}.Slotted(state=(None, {{'a': 1, 'b': 'x'}}))"


def test_reduce_args() -> None:
    obj = generic_load(Reduced(1, [2, 3]))
    assert obj.args == (1, [2, 3])
    assert obj.state is None
    assert repr(obj) == f"{MOD}.Reduced(1, [2, 3])"
    assert to_builtins(obj) == {"$generic": f"{MOD}.Reduced", "args": [1, [2, 3]]}


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_list_and_dict_subclasses(protocol: int) -> None:
    lst = MyList([1, 2])
    lst.extra = "e"  # type: ignore[attr-defined]
    obj = generic_load(lst, protocol)
    assert obj.list_items == [1, 2]
    assert obj.state == {"extra": "e"}
    dct = generic_load(MyDict({1: "a", "b": 2}), protocol)
    assert dct.dict_items == {1: "a", "b": 2}
    assert to_builtins(dct) == {
        "$generic": f"{MOD}.MyDict",
        "dict_items": {"$type": "dict", "items": [[1, "a"], ["b", 2]]},
    }


def test_self_referential_generic_object() -> None:
    root = Node()
    child = Node()
    child.parent = root
    root.children.append(child)
    obj = generic_load(root)
    (kid,) = obj.state["children"]
    assert kid.state["parent"] is obj
    # repr and == terminate on the cycle (repr shows each object once)
    assert repr(obj) == (
        f"{MOD}.Node(children=[{MOD}.Node(children=[], "
        "parent=<shared GenericObject>)], parent=None)"
    )
    other = generic_load(root)
    assert obj == other and obj is not other
    assert obj == obj
    other.state["children"][0].state["children"].append(1)
    assert obj != other
    assert to_builtins(obj) == {
        "$id": 1,
        "$generic": f"{MOD}.Node",
        "state": {
            "children": [
                {
                    "$generic": f"{MOD}.Node",
                    "state": {"children": [], "parent": {"$ref": 1}},
                }
            ],
            "parent": None,
        },
    }


def test_direct_self_cycle_repr_and_eq() -> None:
    cls = GenericClass("m", "C")
    a, b = cls.py_call(), cls.py_call()
    a.py_setstate({"me": a})
    b.py_setstate({"me": b})
    assert repr(a) == "m.C(me=<shared GenericObject>)"
    assert a == b
    c = cls.py_call()
    c.py_setstate({"me": c, "x": 1})
    assert a != c


def test_equality_by_value() -> None:
    cls = GenericClass("m", "C")
    a = cls.py_new(1, k=2)
    b = cls.py_new(1, k=2)
    assert a == b
    a.py_append(3)
    assert a != b
    b.py_append(3)
    assert a == b
    assert a != GenericClass("m", "D").py_new(1, k=2)


# ------------------------------------------------------------- generic_getattr


def test_generic_getattr_on_class_and_object() -> None:
    cls = GenericClass("mod", "Color")
    red = generic_getattr(cls, "RED")
    assert type(red) is GenericClass
    assert (red.module, red.name) == ("mod", "Color.RED")
    inst = cls.py_call(1)
    method = generic_getattr(inst, "run", None)
    assert isinstance(method, GenericAttribute)
    assert method.owner is inst and method.attr == "run"
    assert method.qualname == "mod.Color().run"
    chained = generic_getattr(method, "x")
    assert isinstance(chained, GenericAttribute) and chained.owner is method
    assert chained.qualname == "mod.Color().run.x"
    called = method.py_call(5)
    assert repr(called) == "mod.Color().run(5)"
    assert to_builtins(called) == {
        "$generic": {
            "$type": "attribute",
            "of": {"$generic": "mod.Color", "args": [1]},
            "name": "run",
        },
        "args": [5],
    }
    assert method == generic_getattr(cls.py_call(1), "run")
    assert method != generic_getattr(cls.py_call(2), "run")
    assert method != GenericClass("mod", "Color().run")


@pytest.mark.parametrize(
    ("obj", "args"),
    [(1, ("x",)), ([], ("append",)), (GenericClass("m", "C"), (1,))],
)
def test_generic_getattr_refuses(obj: object, args: tuple[object, ...]) -> None:
    with pytest.raises(EmulationError):
        generic_getattr(obj, *args)


def test_generic_getattr_too_many_defaults() -> None:
    with pytest.raises(EmulationError):
        generic_getattr(GenericClass("m", "C"), "a", 1, 2)


# ---------------------------------------------------------------- to_builtins


def test_scalars_and_value_types() -> None:
    day = datetime.date(2024, 1, 2)
    uid = uuid.UUID(int=1)
    value = [
        None,
        True,
        3,
        "s",
        1.5,
        math.inf,
        -math.inf,
        math.nan,
        2j,
        b"\x00\x01",
        bytearray(b"a"),
        {3, 4},
        (),
        (1, 2),
        day,
        decimal.Decimal("1.10"),
        uid,
        pathlib.PurePosixPath("/a/b"),
        datetime.timedelta(seconds=1),
        int,
        Ellipsis,
        1 << 20000,
    ]
    out = to_builtins(value)
    assert out == [
        None,
        True,
        3,
        "s",
        1.5,
        {"$type": "float", "value": "inf"},
        {"$type": "float", "value": "-inf"},
        {"$type": "float", "value": "nan"},
        {"$type": "complex", "real": 0.0, "imag": 2.0},
        {"$type": "bytes", "base64": "AAE="},
        {"$type": "bytearray", "base64": "YQ=="},
        {"$type": "set", "items": [3, 4]},
        [],
        [1, 2],
        {"$type": "datetime.date", "value": "2024-01-02"},
        {"$type": "decimal.Decimal", "value": "1.10"},
        {"$type": "uuid.UUID", "value": str(uid)},
        {"$type": "pathlib.PurePosixPath", "value": "/a/b"},
        {"$type": "datetime.timedelta", "value": "0:00:01"},
        {"$type": "global", "name": "builtins.int"},
        {"$type": "repr", "class": "builtins.ellipsis", "repr": "Ellipsis"},
        {"$type": "int", "hex": hex(1 << 20000)},
    ]
    json.dumps(out, allow_nan=False)


def test_dicts_and_reserved_keys() -> None:
    assert to_builtins({"a": 1, "b": {"c": [2]}}) == {"a": 1, "b": {"c": [2]}}
    assert to_builtins({"$id": 1}) == {"$type": "dict", "items": [["$id", 1]]}
    assert to_builtins({(1, 2): "t"}) == {"$type": "dict", "items": [[[1, 2], "t"]]}


def test_instances() -> None:
    @attrs.define
    class A:
        x: int
        y: list[int]

    ns = types.SimpleNamespace(p=1, q=[2])
    assert to_builtins([Config(0.5, [1]), A(1, [2]), ns]) == [
        {"$class": f"{MOD}.Config", "lr": 0.5, "layers": [1]},
        {"$class": f"{A.__module__}.{A.__qualname__}", "x": 1, "y": [2]},
        {"$class": "types.SimpleNamespace", "p": 1, "q": [2]},
    ]
    odd = types.SimpleNamespace()
    odd.__dict__["$x"] = 1
    assert to_builtins(odd) == {
        "$class": "types.SimpleNamespace",
        "$dict": {"$type": "dict", "items": [["$x", 1]]},
    }


def test_cycles() -> None:
    lst: list[object] = [1]
    lst.append(lst)
    assert to_builtins(lst) == {"$id": 1, "$type": "list", "items": [1, {"$ref": 1}]}
    dct: dict[str, object] = {}
    dct["self"] = dct
    assert to_builtins(dct) == {"$id": 1, "self": {"$ref": 1}}
    loaded = emulpickle.loads(pickle.dumps(lst))
    assert to_builtins(loaded) == to_builtins(lst)


def test_shared_subtrees_exact() -> None:
    leaf = [1, 2]
    shared_dict = {"k": leaf}
    long = "x" * 100
    tree = {
        "a": leaf,
        "b": (leaf, shared_dict),
        "c": shared_dict,
        "d": [long, long, "short", "short"],
        "e": {1: leaf},
    }
    out = to_builtins(tree)
    assert out == {
        "a": {"$id": 1, "$type": "list", "items": [1, 2]},
        "b": [{"$ref": 1}, {"$id": 2, "k": {"$ref": 1}}],
        "c": {"$ref": 2},
        "d": [{"$id": 3, "$type": "str", "value": long}, {"$ref": 3}, "short", "short"],
        "e": {"$type": "dict", "items": [[1, {"$ref": 1}]]},
    }
    json.dumps(out)


def test_doubling_pickle_is_linear() -> None:
    x: list[object] = []
    for _ in range(40):
        x = [x, x]
    data = pickle.dumps(x, protocol=2)
    assert len(data) < 400
    loaded = emulpickle.loads(data)
    start = time.perf_counter()
    out = to_builtins(loaded)
    # A hang guard, not a speed goal: 2**40 nodes without sharing never ends.
    assert time.perf_counter() - start < 30.0
    text = json.dumps(out)
    assert len(text) < 3000
    # The root is referenced once, so it stays a plain array; every level
    # below it is shared: ids 1 (just below the root) to 40 (the empty list).
    node: Any = {"$type": "list", "items": out}
    for level in range(1, 41):
        first, second = node["items"]
        assert first["$id"] == level
        assert first["$type"] == "list"
        assert second == {"$ref": level}
        node = first
    assert node["items"] == []


def test_deep_nesting_without_recursion() -> None:
    depth = 100_000
    x: list[object] = []
    for _ in range(depth):
        x = [x]
    out = to_builtins(x)
    count = 0
    node: Any = out
    while node:
        assert type(node) is list and len(node) == 1
        node = node[0]
        count += 1
    assert count == depth and node == []


def test_deep_pickle_loads_and_converts() -> None:
    depth = 100_000
    data = b"\x80\x02" + b"]" * (depth + 1) + b"a" * depth + b"."
    out = to_builtins(emulpickle.loads(data))
    node: Any = out
    count = 0
    while node:
        node = node[0]
        count += 1
    assert count == depth


def test_max_depth() -> None:
    tree = {"a": [1, [2]], "b": 3}
    assert to_builtins(tree, max_depth=0) == {
        "$type": "truncated",
        "class": "builtins.dict",
    }
    assert to_builtins(tree, max_depth=1) == {
        "a": {"$type": "truncated", "class": "builtins.list"},
        "b": 3,
    }
    assert to_builtins(tree, max_depth=2) == {
        "a": [1, {"$type": "truncated", "class": "builtins.list"}],
        "b": 3,
    }
    assert to_builtins(tree, max_depth=3) == to_builtins(tree)
    with pytest.raises(ValueError):
        to_builtins(tree, max_depth=-1)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda children: (
        st.lists(children)
        | st.tuples(children, children)
        | st.dictionaries(st.text() | st.integers(), children)
        | st.frozensets(st.integers())
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_result_is_always_json(value: object) -> None:
    out = to_builtins(value)
    text = json.dumps(out, allow_nan=False)
    assert json.loads(text) == out


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(), max_size=5), st.integers(min_value=1, max_value=6))
def test_sharing_matches_identity(leaf: list[int], copies: int) -> None:
    tree = [leaf] * copies
    out: Any = to_builtins(tree)
    if copies == 1:
        assert out == [leaf]
    else:
        assert out[0] == {"$id": 1, "$type": "list", "items": leaf}
        assert out[1:] == [{"$ref": 1}] * (copies - 1)


class WithMethod:
    def __init__(self, n: int) -> None:
        self.n = n

    def run(self) -> int:
        return self.n


def test_generic_getattr_as_find_class_answer() -> None:
    """How unknown="generic" should answer builtins.getattr (wired by a hook here)."""

    def find_class(module: str, name: str) -> object:
        if (module, name) == ("builtins", "getattr"):
            return generic_getattr
        return GenericClass(module, name)

    data = pickle.dumps([WithMethod(7).run, WithMethod.run], protocol=4)
    bound, unbound = emulpickle.loads(data, find_class=find_class)
    assert isinstance(bound, GenericAttribute)
    assert bound.attr == "run"
    assert bound.owner.cls == GenericClass(MOD, "WithMethod")
    assert bound.owner.state == {"n": 7}
    assert unbound == GenericClass(MOD, "WithMethod.run")
    assert to_builtins(bound) == {
        "$type": "attribute",
        "of": {"$generic": f"{MOD}.WithMethod", "state": {"n": 7}},
        "name": "run",
    }


def _getattr_chain(length: int, on_instance: bool) -> bytes:
    """``getattr(getattr(...(mod.Cls[()], "a")...), "a")``, ``length`` deep."""
    out = bytearray(b"\x80\x04cbuiltins\ngetattr\nq\x00cmod\nCls\n")
    if on_instance:
        out += b")\x81"
    for _ in range(length):
        out += b"q\x01h\x00h\x01X\x01\x00\x00\x00a\x86R"
    return bytes(out + b".")


@pytest.mark.parametrize("on_instance", [False, True], ids=["class", "instance"])
def test_getattr_chains_are_bounded(on_instance: bool) -> None:
    # Every getattr copies the dotted name: a long chain of them would cost
    # memory quadratic in the input.
    limit = emulpickle.generic.MAX_GENERIC_NAME
    short = emulpickle.loads(_getattr_chain(400, on_instance), unknown="generic")
    assert short.qualname.endswith(".a" * 400)
    with pytest.raises(emulpickle.EmulationError, match=f"longer than {limit}"):
        emulpickle.loads(_getattr_chain(limit, on_instance), unknown="generic")
