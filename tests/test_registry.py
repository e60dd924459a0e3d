"""Registries, Unpickler subclass registries, plugins and record classes."""

from __future__ import annotations

import collections
import dataclasses
import importlib
import pickle
from pathlib import Path
from typing import Any, NamedTuple

import attrs
import pytest

import emulpickle
from emulpickle import EmulationError, ForbiddenGlobalError, Registry
from emulpickle.registry import PluginNotFoundError

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
PLUGIN_SITE = Path(__file__).parent / "fixtures" / "plugin_site"


# ---------------------------------------------------------------- pickled side
# These are the "real" classes an application pickled; the tests load their
# pickles into *different* classes registered under the same names.


@dataclasses.dataclass
class TrainConfig:
    lr: float
    layers: list[int]
    name: str = "run"


class Legacy:
    """A plain class whose pickled state has whatever keys we give it."""

    def __init__(self, **state: Any) -> None:
        self.__dict__.update(state)


@dataclasses.dataclass(slots=True)
class SlotPoint:
    x: int
    y: int


@dataclasses.dataclass(frozen=True)
class Frozen:
    a: int
    b: str


class Pair(NamedTuple):
    left: int
    right: str


# ------------------------------------------------------------- emulator side


@dataclasses.dataclass
class TrainConfigMirror:
    lr: float
    layers: list[int]
    name: str = "run"


@dataclasses.dataclass
class LegacyMirror:
    a: int = 0


@dataclasses.dataclass
class LegacyWithExtras:
    a: int = 0
    extras: dict[str, Any] = dataclasses.field(
        default_factory=dict, metadata=emulpickle.EXTRAS
    )


def _positive(instance: object, attribute: object, value: int) -> None:
    if value <= 0:
        raise ValueError("a must be positive")


@attrs.define
class LegacyAttrs:
    a: int = attrs.field(converter=int, validator=_positive)


@dataclasses.dataclass(slots=True)
class SlotPointMirror:
    x: int
    y: int


@dataclasses.dataclass(frozen=True)
class FrozenMirror:
    a: int
    b: str


class PairMirror(NamedTuple):
    left: int
    right: str


def name_of(cls: type) -> tuple[str, str]:
    return cls.__module__, cls.__qualname__


def registry_with(**pairs: type) -> Registry:
    reg = Registry(parent=emulpickle.default_registry())
    for real_name, mirror in pairs.items():
        real = globals()[real_name]
        reg.register(*name_of(real), mirror)
    return reg


# ------------------------------------------------------------------- registry


def test_default_registry_is_read_only() -> None:
    reg = emulpickle.default_registry()
    assert reg.read_only
    with pytest.raises(TypeError, match="read-only"):
        reg.register("x", "y", int)
    with pytest.raises(TypeError, match="read-only"):
        reg.unregister("builtins", "int")


def test_resolution_names_the_answering_registry() -> None:
    base = Registry(name="base")
    child = Registry(parent=base, name="child")
    base.register("m", "A", int)
    child.register("m", "B", str)
    found_a = child.resolve("m", "A")
    found_b = child.resolve("m", "B")
    assert found_a is not None and found_a.value is int and found_a.registry is base
    assert found_b is not None and found_b.value is str and found_b.registry is child
    assert child.resolve("m", "C") is None
    assert ("m", "A") in child and ("m", "C") not in child
    assert child.names() == {("m", "A"), ("m", "B")}


def test_child_overrides_parent_and_unregister_restores_it() -> None:
    base = Registry()
    base.register("m", "X", int)
    child = Registry(parent=base)
    child.register("m", "X", float)
    assert child.resolve("m", "X").value is float  # type: ignore[union-attr]
    child.unregister("m", "X")
    assert child.resolve("m", "X").value is int  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        child.unregister("m", "X")


def test_emulate_decorator_returns_the_class() -> None:
    reg = Registry()

    @reg.emulate("pkg", "Thing")
    @dataclasses.dataclass
    class Thing:
        v: int = 0

    assert reg.resolve("pkg", "Thing").value is Thing  # type: ignore[union-attr]


def test_mutable_containers_cannot_be_registered() -> None:
    with pytest.raises(TypeError, match="mutable"):
        Registry().register("m", "CONST", [1, 2])


# --------------------------------------------------------------- record classes


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_dataclass_refused_generic_and_registered(protocol: int) -> None:
    original = TrainConfig(lr=0.1, layers=[64, 64], name="exp")
    data = pickle.dumps(original, protocol)

    with pytest.raises(ForbiddenGlobalError) as info:
        emulpickle.loads(data)
    assert (info.value.module, info.value.name) == name_of(TrainConfig)

    generic = emulpickle.loads(data, unknown="generic")
    assert isinstance(generic, emulpickle.GenericObject)
    assert (generic.cls.module, generic.cls.name) == name_of(TrainConfig)
    assert generic.state == {"lr": 0.1, "layers": [64, 64], "name": "exp"}

    rebuilt = emulpickle.loads(
        data, registry=registry_with(TrainConfig=TrainConfigMirror)
    )
    assert rebuilt == TrainConfigMirror(lr=0.1, layers=[64, 64], name="exp")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unknown_state_key_is_rejected_by_name(protocol: int) -> None:
    data = pickle.dumps(Legacy(a=1, surprise=2), protocol)
    with pytest.raises(EmulationError, match="surprise"):
        emulpickle.loads(data, registry=registry_with(Legacy=LegacyMirror))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_extras_field_keeps_unknown_keys(protocol: int) -> None:
    data = pickle.dumps(Legacy(a=1, surprise=2, other="x"), protocol)
    obj = emulpickle.loads(data, registry=registry_with(Legacy=LegacyWithExtras))
    assert obj == LegacyWithExtras(a=1, extras={"surprise": 2, "other": "x"})


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_attrs_converters_and_validators_run(protocol: int) -> None:
    reg = registry_with(Legacy=LegacyAttrs)
    obj = emulpickle.loads(pickle.dumps(Legacy(a="7"), protocol), registry=reg)
    assert obj == LegacyAttrs(a=7) and type(obj.a) is int
    with pytest.raises(EmulationError, match="positive"):
        emulpickle.loads(pickle.dumps(Legacy(a=-1), protocol), registry=reg)


# CPython cannot pickle slotted objects without __getstate__ at protocols 0-1.
@pytest.mark.parametrize("protocol", PROTOCOLS[2:])
def test_slots_and_frozen_dataclasses(protocol: int) -> None:
    reg = registry_with(SlotPoint=SlotPointMirror, Frozen=FrozenMirror)
    data = pickle.dumps([SlotPoint(1, 2), Frozen(3, "z")], protocol)
    assert emulpickle.loads(data, registry=reg) == [
        SlotPointMirror(1, 2),
        FrozenMirror(3, "z"),
    ]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_frozen_dataclass_every_protocol(protocol: int) -> None:
    reg = registry_with(Frozen=FrozenMirror)
    data = pickle.dumps(Frozen(3, "z"), protocol)
    assert emulpickle.loads(data, registry=reg) == FrozenMirror(3, "z")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_namedtuple_registration(protocol: int) -> None:
    reg = registry_with(Pair=PairMirror)
    obj = emulpickle.loads(pickle.dumps(Pair(1, "b"), protocol), registry=reg)
    assert type(obj) is PairMirror and obj == PairMirror(1, "b")


def test_record_state_of_wrong_shape_is_rejected() -> None:
    reg = registry_with(SlotPoint=SlotPointMirror)
    module, qualname = name_of(SlotPoint)
    # NEWOBJ SlotPoint() then BUILD with a three-value list.
    data = (
        b"\x80\x04\x8c" + bytes([len(module)]) + module.encode()
        + b"\x8c" + bytes([len(qualname)]) + qualname.encode()
        + b"\x93)\x81](K\x01K\x02K\x03eb."
    )  # fmt: skip
    with pytest.raises(EmulationError, match="3 values"):
        emulpickle.loads(data, registry=reg)


# ------------------------------------------------------ Unpickler subclasses


class AppUnpickler(emulpickle.Unpickler):
    registry = Registry(parent=emulpickle.default_registry(), name="app")
    registry.register(*name_of(TrainConfig), TrainConfigMirror)


class TeamUnpickler(AppUnpickler):
    registry = Registry(parent=AppUnpickler.registry, name="team")
    registry.register(*name_of(Frozen), FrozenMirror)


class QuietTeamUnpickler(TeamUnpickler):
    """Inherits TeamUnpickler's registry without declaring one."""


def test_registry_inheritance_through_two_subclass_levels() -> None:
    import io

    data = pickle.dumps([TrainConfig(0.5, [1]), Frozen(1, "x"), {1, 2}], 4)
    expected = [TrainConfigMirror(0.5, [1]), FrozenMirror(1, "x"), {1, 2}]
    assert TeamUnpickler(io.BytesIO(data)).load() == expected
    assert QuietTeamUnpickler(io.BytesIO(data)).load() == expected
    with pytest.raises(ForbiddenGlobalError) as info:
        AppUnpickler(io.BytesIO(data)).load()
    assert info.value.name == "Frozen"
    # An explicit registry= still wins over the class attribute.
    with pytest.raises(ForbiddenGlobalError):
        TeamUnpickler(io.BytesIO(data), registry=emulpickle.default_registry()).load()


# ------------------------------------------------------------------- plugins


@pytest.fixture
def plugin_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PLUGIN_SITE))
    importlib.invalidate_caches()


def test_plugin_found_through_its_entry_point(plugin_on_path: None) -> None:
    from emulpickle.registry import installed_plugins

    assert "testplugin" in installed_plugins()
    reg = Registry.with_plugins("testplugin")
    assert reg.parent is emulpickle.default_registry()
    data = (
        b"\x80\x04\x8c\x10testpkg.geometry\x8c\x05Point\x93)\x81"
        b"}(\x8c\x01xG?\xf0\x00\x00\x00\x00\x00\x00\x8c\x01yK\x02ub."
    )
    point = emulpickle.loads(data, registry=reg)
    assert type(point).__name__ == "Point" and (point.x, point.y) == (1.0, 2)
    # Installing (and using) a plugin never widens the default registry.
    with pytest.raises(ForbiddenGlobalError):
        emulpickle.loads(data)
    assert ("testpkg.geometry", "Point") not in emulpickle.default_registry()


def test_missing_plugin_names_the_installed_ones(plugin_on_path: None) -> None:
    with pytest.raises(PluginNotFoundError) as info:
        Registry.with_plugins("testplugin", "does-not-exist")
    assert info.value.name == "does-not-exist"
    assert "testplugin" in info.value.installed
    assert "testplugin" in str(info.value) and "does-not-exist" in str(info.value)
    assert isinstance(info.value, LookupError)


def test_collections_namedtuple_style_is_generic_without_registration() -> None:
    Point = collections.namedtuple("Point", "x y")
    Point.__module__ = __name__
    globals()["Point"] = Point
    try:
        obj = emulpickle.loads(pickle.dumps(Point(1, 2), 2), unknown="generic")
    finally:
        del globals()["Point"]
    assert isinstance(obj, emulpickle.GenericObject) and obj.args == (1, 2)


# ------------------------------------------------------------- call handlers


class Meters(float):
    """A real class a registry answers with, but which a pickle may not call."""


def test_call_handlers_replace_calls_on_real_objects() -> None:
    calls: list[tuple[object, ...]] = []

    def checked_call(*args: object) -> Meters:
        calls.append(args)
        if len(args) != 1 or not isinstance(args[0], float):
            raise EmulationError("Meters takes one float")
        return Meters(args[0])

    reg = Registry(parent=emulpickle.default_registry())
    reg.register("units", "Meters", Meters, call=checked_call)
    reduce_ok = b"\x80\x04cunits\nMeters\nG@\x04\x00\x00\x00\x00\x00\x00\x85R."
    obj = emulpickle.loads(reduce_ok, registry=reg)
    assert type(obj) is Meters and obj == 2.5 and calls == [(2.5,)]
    # The class itself comes back as the real class.
    assert emulpickle.loads(b"\x80\x04cunits\nMeters\n.", registry=reg) is Meters
    with pytest.raises(EmulationError, match="one float"):
        emulpickle.loads(b"\x80\x04cunits\nMeters\nK\x01\x85R.", registry=reg)
    # No ``new`` handler: NEWOBJ on it is refused instead of reaching __new__.
    with pytest.raises(EmulationError, match="may not be instantiated"):
        emulpickle.loads(b"\x80\x04cunits\nMeters\nK\x01\x85\x81.", registry=reg)
    # INST with arguments takes the call path too.
    inst = b"(G@\x04\x00\x00\x00\x00\x00\x00iunits\nMeters\n."
    assert emulpickle.loads(inst, registry=reg) == 2.5


def test_an_object_a_state_setter_built_takes_no_second_build() -> None:
    """pickle writes one BUILD per object: a second one, on an object whose
    emulator already checked its state, would replace that state unchecked
    (the memo hands the object out again). Without a setter (a
    GenericObject), a second BUILD is standard pickle semantics."""

    @dataclasses.dataclass
    class Rec:
        a: int = 0

    registry = emulpickle.Registry(parent=emulpickle.default_registry())
    registry.register("m", "Rec", Rec)
    once = b"\x80\x02cm\nRec\n)\x81q\x00}X\x01\x00\x00\x00aK\x01sb"
    twice = once + b"h\x00}X\x01\x00\x00\x00aK\x02sb."
    assert emulpickle.loads(once + b".", registry=registry) == Rec(1)
    with pytest.raises(emulpickle.EmulationError, match="second BUILD"):
        emulpickle.loads(twice, registry=registry)
    generic = emulpickle.loads(twice, unknown="generic")
    assert generic.state == {"a": 2}
