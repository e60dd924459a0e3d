"""How plugins teach core to show and convert their objects.

``emulpickle.convert.register_encoder`` (what ``to_builtins`` writes for a
type) and ``emulpickle.generic.register_repr`` (how generic objects print),
with classes of this module standing for a plugin's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

import emulpickle
from emulpickle import GenericClass, GenericObject, render_text
from emulpickle import generic as generic_module
from emulpickle.convert import register_encoder, to_builtins


class Reader:
    """A plugin's object that holds a private reader (a lambda)."""

    def __init__(self, name: str, payload: object = None) -> None:
        self.name = name
        self.payload = payload
        self._reader = lambda: b""


class SubReader(Reader):
    pass


class Loops:
    """An object whose encoding is an object of the same type, forever."""


def _encode_reader(reader: Reader) -> dict[str, object]:
    return {"$reader": reader.name, "payload": reader.payload}


register_encoder(Reader, _encode_reader)
register_encoder(Loops, lambda obj: Loops())


def test_an_encoder_replaces_the_object() -> None:
    inner = [1, 2]
    value = {"a": Reader("x", inner), "b": SubReader("y"), "c": inner}
    data = to_builtins(value)
    assert json.loads(json.dumps(data)) == data
    # The payload keeps its sharing with the rest of the tree.
    assert data == {
        "a": {"$reader": "x", "payload": {"$id": 1, "$type": "list", "items": [1, 2]}},
        "b": {"$reader": "y", "payload": None},
        "c": {"$ref": 1},
    }


def test_a_shared_or_cyclic_object_is_encoded_once() -> None:
    calls: list[object] = []

    class Counted:
        pass

    def encode(obj: Counted) -> dict[str, object]:
        calls.append(obj)
        return {"$counted": True, "me": obj}  # a cycle through the encoding

    register_encoder(Counted, encode)
    obj = Counted()
    data = to_builtins([obj, obj])
    assert len(calls) == 1  # once per object and conversion (both passes)
    assert data == [
        {"$id": 1, "$counted": True, "me": {"$ref": 1}},
        {"$ref": 1},
    ]


def test_encodings_are_not_encoded_again() -> None:
    data = to_builtins(Loops())
    assert data["$type"] == "repr" and data["class"].endswith(".Loops")


def test_max_depth_names_the_encoded_class() -> None:
    data = to_builtins([[Reader("deep")]], max_depth=2)
    assert data == [[{"$type": "truncated", "class": f"{__name__}.Reader"}]]


@pytest.mark.parametrize("cls", [object, dict, list, str, int, GenericClass])
def test_core_types_keep_their_encoding(cls: type) -> None:
    with pytest.raises(ValueError, match="writes"):
        register_encoder(cls, _encode_reader)
    with pytest.raises(TypeError):
        register_encoder("Reader", _encode_reader)  # type: ignore[arg-type]


# ------------------------------------------------------------------ repr


@pytest.fixture
def renderer() -> Iterator[Callable[[GenericObject, Callable[[object], None]], bool]]:
    """A renderer for generic objects of class ``m.Box``: ``Box(`` then one
    line per item; removed again afterwards."""

    def render(obj: GenericObject, part: Callable[[object], None]) -> bool:
        if obj.cls.qualname != "m.Box":
            return False
        part(render_text("Box("))
        for item in obj.list_items:
            part(render_text("\n  "))
            part(item)
        part(render_text("\n)"))
        return True

    saved = generic_module._renderers
    generic_module.register_repr(render)
    generic_module.register_repr(render)  # once is enough
    assert generic_module._renderers.count(render) == 1
    yield render
    generic_module._renderers = saved


def _box(*items: object) -> GenericObject:
    box = GenericClass("m", "Box").py_call()
    for item in items:
        box.py_append(item)
    return box


def test_a_registered_renderer_shows_generic_objects(renderer: object) -> None:
    other = GenericClass("m", "Other").py_call(1)
    inner = _box(1, other)
    assert repr(_box(inner, "x")) == (
        "Box(\n  Box(\n    1\n    m.Other(1)\n  )\n  'x'\n)"
    )
    # Objects it declines keep the default form; sharing still shows once.
    assert repr(GenericClass("m", "Other").py_call(inner, inner)) == (
        "m.Other(Box(\n    1\n    m.Other(1)\n  ), <shared GenericObject>)"
    )


def test_a_renderer_stays_within_the_budget(renderer: object) -> None:
    box = _box()
    box.list_items.extend(range(1_000_000))
    text = repr(box)
    assert len(text) == emulpickle.generic.REPR_MAX_CHARS
    assert text.endswith("...")
    deep = _box()
    for _ in range(10_000):
        deep = _box(deep)
    text = repr(deep)
    assert text.count("Box(") == emulpickle.generic.REPR_MAX_DEPTH
    assert "<GenericObject...>" in text
