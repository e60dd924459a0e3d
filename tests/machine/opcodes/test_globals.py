"""GLOBAL / STACK_GLOBAL / INST: hooks see names after the fix_imports mapping;
unknown globals load as generic objects in ``unknown="generic"`` mode.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers.opcode_cases.common import S, V, emu_load

import emulpickle


@pytest.mark.parametrize(
    ("data", "options", "expected"),
    [
        V(b"c__builtin__\nset\n.", {}, ("builtins", "set"), id="proto0-mapped"),
        V(
            b"\x80\x02c__builtin__\nxrange\n.",
            {},
            ("builtins", "range"),
            id="proto2-name-mapped",
        ),
        V(
            b"\x80\x02ccopy_reg\n_reconstructor\n.",
            {},
            ("copyreg", "_reconstructor"),
            id="proto2-module-mapped",
        ),
        V(
            b"\x80\x02c__builtin__\nset\n.",
            {"fix_imports": False},
            ("__builtin__", "set"),
            id="fix_imports-off",
        ),
        V(
            b"\x80\x03c__builtin__\nset\n.",
            {},
            ("__builtin__", "set"),
            id="proto3-not-mapped",
        ),
        V(
            b"\x80\x02" + S("__builtin__") + S("set") + b"\x93.",
            {},
            ("builtins", "set"),
            id="STACK_GLOBAL-proto2-mapped",
        ),
    ],
)
def test_find_class_hook_sees_mapped_names(
    data: bytes, options: dict[str, Any], expected: tuple[str, str], how: str
) -> None:
    seen: list[tuple[str, str]] = []

    def find_class(module: str, name: str) -> Any:
        seen.append((module, name))
        return "X"

    assert emu_load(how, data, find_class=find_class, **options) == "X"
    assert seen == [expected]


def test_unknown_generic_global(how: str) -> None:
    got = emu_load(how, b"cfoo.bar\nBaz\n.", unknown="generic")
    assert isinstance(got, emulpickle.GenericClass)
    assert (got.module, got.name) == ("foo.bar", "Baz")


def test_generic_py2_old_style_instance(how: str) -> None:
    # Python 2 pickle.dumps(Foo()) of an old-style class with self.a = 1.
    data = b"(i__main__\nFoo\np0\n(dp1\nS'a'\np2\nI1\nsb."
    got = emu_load(how, data, unknown="generic")
    assert isinstance(got, emulpickle.GenericObject)
    assert (got.cls.module, got.cls.name) == ("__main__", "Foo")
    assert got.state == {"a": 1}


def test_generic_newobj_and_build(how: str) -> None:
    data = b"\x80\x02cmypkg\nThing\nK\x01\x85\x81}X\x01\x00\x00\x00aK\x02sb."
    got = emu_load(how, data, unknown="generic")
    assert isinstance(got, emulpickle.GenericObject)
    assert (got.cls.module, got.cls.name) == ("mypkg", "Thing")
    assert tuple(got.args) == (1,)
    assert got.state == {"a": 2}
