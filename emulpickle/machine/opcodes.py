"""The pickle opcode table: one description of every opcode, shared by all readers.

The machine, the disassembler and the scanner's walkers all read opcodes;
they take names, codes, argument layouts, stack effects and protocols from
here instead of each spelling opcodes as hex literals. Like CPython's
``pickletools.opcodes``, each opcode is an :class:`OpcodeInfo`; unlike it,
the codes are also module constants typed ``Final``, which mypyc folds into
literals, so the compiled machine's ``op == NEWOBJ`` costs what ``op ==
0x81`` did.

Argument layouts (``OpcodeInfo.arg``):

======== ==============================================================
NO_ARG   nothing follows the opcode byte
U1/U2/U4 a little-endian unsigned integer of 1, 2 or 4 bytes
I4       a little-endian signed 32-bit integer
U8       a little-endian unsigned 64-bit integer (FRAME's length)
F8       a big-endian IEEE 754 double (BINFLOAT)
LEN1     a 1-byte length, then that many bytes
LEN4S    a signed 4-byte length (negative is an error), then the bytes
LEN4     an unsigned 4-byte length, then the bytes
LEN8     an unsigned 8-byte length, then the bytes
LINE     one newline-terminated line
LINE2    two newline-terminated lines (module, then name)
======== ==============================================================

Stack effects are written as in ``pickletools``: ``stack_before`` and
``stack_after`` name what the opcode pops and pushes, bottom to top;
``"mark"`` stands for a MARK and the slice above it (OBJ's ``"mark any"``:
the class is the first item of that slice).
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["ARG_SIZES", "BY_CODE", "BY_NAME", "OPCODES", "OpcodeInfo", "opcode_name"]

# Argument layouts.
NO_ARG: Final = 0
U1: Final = 1
U2: Final = 2
I4: Final = 3
U4: Final = 4
U8: Final = 5
F8: Final = 6
LEN1: Final = 7
LEN4S: Final = 8
LEN4: Final = 9
LEN8: Final = 10
LINE: Final = 11
LINE2: Final = 12

#: Bytes that follow the opcode for the fixed-size layouts (and the size of
#: the length prefix for the counted ones).
ARG_SIZES: Final[dict[int, int]] = {
    NO_ARG: 0, U1: 1, U2: 2, I4: 4, U4: 4, U8: 8, F8: 8,
    LEN1: 1, LEN4S: 4, LEN4: 4, LEN8: 8,
}  # fmt: skip

# Opcode codes, by pickletools name. Protocol 0 and 1.
MARK: Final = 0x28
STOP: Final = 0x2E
POP: Final = 0x30
POP_MARK: Final = 0x31
DUP: Final = 0x32
FLOAT: Final = 0x46
INT: Final = 0x49
BININT: Final = 0x4A
BININT1: Final = 0x4B
LONG: Final = 0x4C
BININT2: Final = 0x4D
NONE: Final = 0x4E
PERSID: Final = 0x50
BINPERSID: Final = 0x51
REDUCE: Final = 0x52
STRING: Final = 0x53
BINSTRING: Final = 0x54
SHORT_BINSTRING: Final = 0x55
UNICODE: Final = 0x56
BINUNICODE: Final = 0x58
APPEND: Final = 0x61
BUILD: Final = 0x62
GLOBAL: Final = 0x63
DICT: Final = 0x64
EMPTY_DICT: Final = 0x7D
APPENDS: Final = 0x65
GET: Final = 0x67
BINGET: Final = 0x68
INST: Final = 0x69
LONG_BINGET: Final = 0x6A
LIST: Final = 0x6C
EMPTY_LIST: Final = 0x5D
OBJ: Final = 0x6F
PUT: Final = 0x70
BINPUT: Final = 0x71
LONG_BINPUT: Final = 0x72
SETITEM: Final = 0x73
TUPLE: Final = 0x74
EMPTY_TUPLE: Final = 0x29
SETITEMS: Final = 0x75
BINFLOAT: Final = 0x47
# Protocol 2.
PROTO: Final = 0x80
NEWOBJ: Final = 0x81
EXT1: Final = 0x82
EXT2: Final = 0x83
EXT4: Final = 0x84
TUPLE1: Final = 0x85
TUPLE2: Final = 0x86
TUPLE3: Final = 0x87
NEWTRUE: Final = 0x88
NEWFALSE: Final = 0x89
LONG1: Final = 0x8A
LONG4: Final = 0x8B
# Protocol 3.
BINBYTES: Final = 0x42
SHORT_BINBYTES: Final = 0x43
# Protocol 4.
SHORT_BINUNICODE: Final = 0x8C
BINUNICODE8: Final = 0x8D
BINBYTES8: Final = 0x8E
EMPTY_SET: Final = 0x8F
ADDITEMS: Final = 0x90
FROZENSET: Final = 0x91
NEWOBJ_EX: Final = 0x92
STACK_GLOBAL: Final = 0x93
MEMOIZE: Final = 0x94
FRAME: Final = 0x95
# Protocol 5.
BYTEARRAY8: Final = 0x96
NEXT_BUFFER: Final = 0x97
READONLY_BUFFER: Final = 0x98


class OpcodeInfo(NamedTuple):
    """One opcode: what it is called, its byte, its argument and its effect.

    Attributes:
        name: the pickletools name, e.g. ``"SHORT_BINUNICODE"``.
        code: the opcode byte.
        arg: the argument layout (``NO_ARG``, ``U1``, ... ``LINE2``).
        stack_before: what it pops (``"mark"``: a MARK and all above it).
        stack_after: what it pushes.
        proto: the first protocol that has it.
    """

    name: str
    code: int
    arg: int
    stack_before: tuple[str, ...]
    stack_after: tuple[str, ...]
    proto: int


def _op(
    name: str, code: int, arg: int, before: str, after: str, proto: int
) -> OpcodeInfo:
    return OpcodeInfo(
        name, code, arg, tuple(before.split()), tuple(after.split()), proto
    )


#: Every opcode of protocols 0 to 5, in pickletools' order.
OPCODES: Final[tuple[OpcodeInfo, ...]] = (
    _op("INT", INT, LINE, "", "int", 0),
    _op("BININT", BININT, I4, "", "int", 1),
    _op("BININT1", BININT1, U1, "", "int", 1),
    _op("BININT2", BININT2, U2, "", "int", 1),
    _op("LONG", LONG, LINE, "", "int", 0),
    _op("LONG1", LONG1, LEN1, "", "int", 2),
    _op("LONG4", LONG4, LEN4S, "", "int", 2),
    _op("STRING", STRING, LINE, "", "bytes_or_str", 0),
    _op("BINSTRING", BINSTRING, LEN4S, "", "bytes_or_str", 1),
    _op("SHORT_BINSTRING", SHORT_BINSTRING, LEN1, "", "bytes_or_str", 1),
    _op("BINBYTES", BINBYTES, LEN4, "", "bytes", 3),
    _op("SHORT_BINBYTES", SHORT_BINBYTES, LEN1, "", "bytes", 3),
    _op("BINBYTES8", BINBYTES8, LEN8, "", "bytes", 4),
    _op("BYTEARRAY8", BYTEARRAY8, LEN8, "", "bytearray", 5),
    _op("NEXT_BUFFER", NEXT_BUFFER, NO_ARG, "", "any", 5),
    _op("READONLY_BUFFER", READONLY_BUFFER, NO_ARG, "any", "any", 5),
    _op("NONE", NONE, NO_ARG, "", "None", 0),
    _op("NEWTRUE", NEWTRUE, NO_ARG, "", "bool", 2),
    _op("NEWFALSE", NEWFALSE, NO_ARG, "", "bool", 2),
    _op("UNICODE", UNICODE, LINE, "", "str", 0),
    _op("SHORT_BINUNICODE", SHORT_BINUNICODE, LEN1, "", "str", 4),
    _op("BINUNICODE", BINUNICODE, LEN4, "", "str", 1),
    _op("BINUNICODE8", BINUNICODE8, LEN8, "", "str", 4),
    _op("FLOAT", FLOAT, LINE, "", "float", 0),
    _op("BINFLOAT", BINFLOAT, F8, "", "float", 1),
    _op("EMPTY_LIST", EMPTY_LIST, NO_ARG, "", "list", 1),
    _op("APPEND", APPEND, NO_ARG, "list any", "list", 0),
    _op("APPENDS", APPENDS, NO_ARG, "list mark", "list", 1),
    _op("LIST", LIST, NO_ARG, "mark", "list", 0),
    _op("EMPTY_TUPLE", EMPTY_TUPLE, NO_ARG, "", "tuple", 1),
    _op("TUPLE", TUPLE, NO_ARG, "mark", "tuple", 0),
    _op("TUPLE1", TUPLE1, NO_ARG, "any", "tuple", 2),
    _op("TUPLE2", TUPLE2, NO_ARG, "any any", "tuple", 2),
    _op("TUPLE3", TUPLE3, NO_ARG, "any any any", "tuple", 2),
    _op("EMPTY_DICT", EMPTY_DICT, NO_ARG, "", "dict", 1),
    _op("DICT", DICT, NO_ARG, "mark", "dict", 0),
    _op("SETITEM", SETITEM, NO_ARG, "dict any any", "dict", 0),
    _op("SETITEMS", SETITEMS, NO_ARG, "dict mark", "dict", 1),
    _op("EMPTY_SET", EMPTY_SET, NO_ARG, "", "set", 4),
    _op("ADDITEMS", ADDITEMS, NO_ARG, "set mark", "set", 4),
    _op("FROZENSET", FROZENSET, NO_ARG, "mark", "frozenset", 4),
    _op("POP", POP, NO_ARG, "any", "", 0),
    _op("DUP", DUP, NO_ARG, "any", "any any", 0),
    _op("MARK", MARK, NO_ARG, "", "mark", 0),
    _op("POP_MARK", POP_MARK, NO_ARG, "mark", "", 1),
    _op("GET", GET, LINE, "", "any", 0),
    _op("BINGET", BINGET, U1, "", "any", 1),
    _op("LONG_BINGET", LONG_BINGET, U4, "", "any", 1),
    _op("PUT", PUT, LINE, "", "", 0),
    _op("BINPUT", BINPUT, U1, "", "", 1),
    _op("LONG_BINPUT", LONG_BINPUT, U4, "", "", 1),
    _op("MEMOIZE", MEMOIZE, NO_ARG, "any", "any", 4),
    _op("EXT1", EXT1, U1, "", "any", 2),
    _op("EXT2", EXT2, U2, "", "any", 2),
    _op("EXT4", EXT4, I4, "", "any", 2),
    _op("GLOBAL", GLOBAL, LINE2, "", "any", 0),
    _op("STACK_GLOBAL", STACK_GLOBAL, NO_ARG, "str str", "any", 4),
    _op("REDUCE", REDUCE, NO_ARG, "any any", "any", 0),
    _op("BUILD", BUILD, NO_ARG, "any any", "any", 0),
    _op("INST", INST, LINE2, "mark", "any", 0),
    _op("OBJ", OBJ, NO_ARG, "mark any", "any", 1),
    _op("NEWOBJ", NEWOBJ, NO_ARG, "any any", "any", 2),
    _op("NEWOBJ_EX", NEWOBJ_EX, NO_ARG, "any any any", "any", 4),
    _op("PROTO", PROTO, U1, "", "", 2),
    _op("STOP", STOP, NO_ARG, "any", "", 0),
    _op("FRAME", FRAME, U8, "", "", 4),
    _op("PERSID", PERSID, LINE, "", "any", 0),
    _op("BINPERSID", BINPERSID, NO_ARG, "any", "any", 1),
)

#: Opcode byte -> its description.
BY_CODE: Final[dict[int, OpcodeInfo]] = {info.code: info for info in OPCODES}
#: Opcode name -> its description.
BY_NAME: Final[dict[str, OpcodeInfo]] = {info.name: info for info in OPCODES}
#: Opcode byte -> name, for the hot error paths.
NAMES: Final[dict[int, str]] = {info.code: info.name for info in OPCODES}


def opcode_name(op: int) -> str | None:
    """Name of opcode byte ``op`` (None for -1, i.e. no opcode read yet)."""
    if op < 0:
        return None
    name = NAMES.get(op)
    return name if name is not None else f"<unknown opcode 0x{op:02x}>"
