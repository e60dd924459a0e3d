"""EXT1 / EXT2 / EXT4: copyreg's extension codes, the get_extension hook, and
find_class asked for the global a code stands for.
"""

from __future__ import annotations

import copyreg
from typing import Any

import pytest
from helpers.opcode_cases.common import V, emu_load, ref_loads, same

EXT_CODES = {"EXT1": 0xF1, "EXT2": 0xF1F2, "EXT4": 0x7FFFFFF1}


@pytest.fixture
def complex_extensions() -> Any:
    # one (module, name) may have only one code, so use three builtins
    copyreg.add_extension("builtins", "complex", EXT_CODES["EXT1"])
    copyreg.add_extension("builtins", "frozenset", EXT_CODES["EXT2"])
    copyreg.add_extension("builtins", "bytearray", EXT_CODES["EXT4"])
    try:
        yield
    finally:
        copyreg.remove_extension("builtins", "complex", EXT_CODES["EXT1"])
        copyreg.remove_extension("builtins", "frozenset", EXT_CODES["EXT2"])
        copyreg.remove_extension("builtins", "bytearray", EXT_CODES["EXT4"])


@pytest.mark.parametrize(
    "data",
    [
        V(b"\x80\x02\x82\xf1K\x01K\x02\x86R.", id="EXT1"),
        V(b"\x80\x02\x83\xf2\xf1]K\x01a\x85R.", id="EXT2"),
        V(b"\x80\x02\x84\xf1\xff\xff\x7fC\x02ab\x85R.", id="EXT4"),
        V(b"\x80\x02\x84\xf1\x00\x00\x00.", id="EXT4-small-code"),
        V(b"\x80\x02\x82\xf1\x82\xf1\x86.", id="EXT1-twice-cached"),
    ],
)
def test_ext_via_copyreg(data: bytes, how: str, complex_extensions: None) -> None:
    assert same(emu_load(how, data), ref_loads(data))


def test_ext_get_extension_hook(how: str) -> None:
    seen: list[int] = []

    def get_extension(code: int) -> Any:
        seen.append(code)
        return ("ext", code)

    data = b"\x80\x02\x82\x05\x83\x00\x01\x84\x00\x00\x00\x01\x87."
    got = emu_load(how, data, get_extension=get_extension)
    assert got == (("ext", 5), ("ext", 256), ("ext", 1 << 24))
    assert seen == [5, 256, 1 << 24]


def test_ext_code_resolved_through_find_class(
    how: str, complex_extensions: None
) -> None:
    seen: list[tuple[str, str]] = []

    def find_class(module: str, name: str) -> Any:
        seen.append((module, name))
        return ("cls", module, name)

    got = emu_load(how, b"\x80\x02\x82\xf1.", find_class=find_class)
    assert got == ("cls", "builtins", "complex")
    assert seen == [("builtins", "complex")]
