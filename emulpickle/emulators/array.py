"""Emulators for ``array.array`` and ``array._array_reconstructor``.

The reconstructor's machine format codes are CPython's (``arraymodule.c``);
data is converted only when its byte order or item size differ from the
native ones. Imports only ``base`` and the bottom layer.
"""

from __future__ import annotations

import array
import struct
import sys
from typing import Any

from .._render import bounded_repr
from .base import Entry, StdlibEmulator, arity, entries_of, exact_int, fail, guard

__all__ = ["entries"]

# Machine format codes of array._array_reconstructor (CPython's arraymodule.c):
# code -> (struct format with byte order, kind, item size, signed).
_MACHINE_FORMATS: dict[int, tuple[str, str, int, bool]] = {
    0: ("<B", "int", 1, False), 1: ("<b", "int", 1, True),
    2: ("<H", "int", 2, False), 3: (">H", "int", 2, False),
    4: ("<h", "int", 2, True), 5: (">h", "int", 2, True),
    6: ("<I", "int", 4, False), 7: (">I", "int", 4, False),
    8: ("<i", "int", 4, True), 9: (">i", "int", 4, True),
    10: ("<Q", "int", 8, False), 11: (">Q", "int", 8, False),
    12: ("<q", "int", 8, True), 13: (">q", "int", 8, True),
    14: ("<f", "float", 4, True), 15: (">f", "float", 4, True),
    16: ("<d", "float", 8, True), 17: (">d", "float", 8, True),
    18: ("utf-16-le", "str", 2, False), 19: ("utf-16-be", "str", 2, False),
    20: ("utf-32-le", "str", 4, False), 21: ("utf-32-be", "str", 4, False),
}  # fmt: skip

_TEXT_TYPECODES = frozenset("uw")


def _typecode(what: str, value: object) -> str:
    if type(value) is bytes:  # Python 2 pickle loaded with encoding="bytes"
        value = value.decode("latin-1")
    if type(value) is not str or len(value) != 1 or value not in array.typecodes:
        raise fail(
            what,
            f"bad typecode {bounded_repr(value, max_chars=20)} "
            f"(must be one of {array.typecodes})",
        )
    return value


def _native_format(typecode: str) -> tuple[str, int, bool]:
    itemsize = array.array(typecode).itemsize
    if typecode in _TEXT_TYPECODES:
        return "str", itemsize, False
    if typecode in "fd":
        return "float", itemsize, True
    return "int", itemsize, typecode.islower()


def _array(*args: object) -> object:
    what = "array.array"
    arity(what, args, 1, 2)
    typecode = _typecode(what, args[0])
    if len(args) == 1:
        return array.array(typecode)
    init = args[1]
    if type(init) is str and typecode not in _TEXT_TYPECODES:
        # Python 2 pickles the raw machine bytes as a str (encoding="latin1").
        try:
            init = init.encode("latin-1")
        except UnicodeEncodeError:
            raise fail(what, "initializer string is not latin-1") from None
    if type(init) is bytes:
        if len(init) % array.array(typecode).itemsize:
            raise fail(what, "bytes length is not a multiple of the item size")
        result = array.array(typecode)
        result.frombytes(init)
        return result
    if type(init) not in (list, tuple, str):
        raise fail(
            what, f"initializer must be a list, str or bytes, not {type(init).__name__}"
        )
    items: Any = init
    return guard(what, lambda: array.array(typecode, items))


def _array_reconstructor(*args: object) -> object:
    what = "array._array_reconstructor"
    arity(what, args, 4, 4)
    cls, typecode, code, data = args
    if cls is not _ARRAY and cls is not array.array:
        raise fail(what, "first argument must be array.array")
    typecode = _typecode(what, typecode)
    code = exact_int(what, code)
    if code not in _MACHINE_FORMATS:
        raise fail(what, f"unknown machine format code {bounded_repr(code)}")
    if type(data) is not bytes:
        raise fail(what, "data must be bytes")
    fmt, kind, size, signed = _MACHINE_FORMATS[code]
    if len(data) % size:
        raise fail(what, "data length is not a multiple of the item size")
    native_kind, native_size, native_signed = _native_format(typecode)
    if kind != native_kind:
        raise fail(what, f"machine format {code} does not match typecode {typecode!r}")
    little = sys.byteorder == "little"
    if kind == "str":
        text = guard(what, lambda: data.decode(fmt))
        return array.array(typecode, text)
    if (
        size == native_size
        and signed == native_signed
        and (size == 1 or (fmt[0] == "<") == little)
    ):
        result = array.array(typecode)
        result.frombytes(data)
        return result
    values = [item[0] for item in struct.iter_unpack(fmt, data)]
    return guard(what, lambda: array.array(typecode, values))


#: The one ``array.array`` emulator: the reconstructor accepts it as its class.
_ARRAY = StdlibEmulator("array", "array", _array)


def entries() -> list[Entry]:
    """The emulators of this family."""
    return entries_of(
        [
            _ARRAY,
            StdlibEmulator("array", "_array_reconstructor", _array_reconstructor),
        ]
    )
