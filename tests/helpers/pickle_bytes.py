"""Tiny helpers to assemble pickles opcode by opcode, for hand-written tests.

Every function returns ``bytes``: an opcode byte followed by its encoded
argument. Concatenate them (or pass them to :func:`pk`) to build a pickle.
Nothing here validates its input: tests deliberately build broken pickles too.
"""

from __future__ import annotations

import struct

# --- opcode bytes, by pickletools name -------------------------------------

MARK = b"("
STOP = b"."
POP = b"0"
POP_MARK = b"1"
DUP = b"2"
FLOAT = b"F"
INT = b"I"
BININT = b"J"
BININT1 = b"K"
LONG = b"L"
BININT2 = b"M"
NONE = b"N"
PERSID = b"P"
BINPERSID = b"Q"
REDUCE = b"R"
STRING = b"S"
BINSTRING = b"T"
SHORT_BINSTRING = b"U"
UNICODE = b"V"
BINUNICODE = b"X"
APPEND = b"a"
BUILD = b"b"
GLOBAL = b"c"
DICT = b"d"
EMPTY_DICT = b"}"
APPENDS = b"e"
GET = b"g"
BINGET = b"h"
INST = b"i"
LONG_BINGET = b"j"
LIST = b"l"
EMPTY_LIST = b"]"
OBJ = b"o"
PUT = b"p"
BINPUT = b"q"
LONG_BINPUT = b"r"
SETITEM = b"s"
TUPLE = b"t"
EMPTY_TUPLE = b")"
SETITEMS = b"u"
BINFLOAT = b"G"
PROTO = b"\x80"
NEWOBJ = b"\x81"
EXT1 = b"\x82"
EXT2 = b"\x83"
EXT4 = b"\x84"
TUPLE1 = b"\x85"
TUPLE2 = b"\x86"
TUPLE3 = b"\x87"
NEWTRUE = b"\x88"
NEWFALSE = b"\x89"
LONG1 = b"\x8a"
LONG4 = b"\x8b"
BINBYTES = b"B"
SHORT_BINBYTES = b"C"
SHORT_BINUNICODE = b"\x8c"
BINUNICODE8 = b"\x8d"
BINBYTES8 = b"\x8e"
EMPTY_SET = b"\x8f"
ADDITEMS = b"\x90"
FROZENSET = b"\x91"
NEWOBJ_EX = b"\x92"
STACK_GLOBAL = b"\x93"
MEMOIZE = b"\x94"
FRAME = b"\x95"
BYTEARRAY8 = b"\x96"
NEXT_BUFFER = b"\x97"
READONLY_BUFFER = b"\x98"


# --- little-endian packers ----------------------------------------------------


def u1(n: int) -> bytes:
    return struct.pack("<B", n)


def u2(n: int) -> bytes:
    return struct.pack("<H", n)


def u4(n: int) -> bytes:
    return struct.pack("<I", n)


def i4(n: int) -> bytes:
    return struct.pack("<i", n)


def u8(n: int) -> bytes:
    return struct.pack("<Q", n)


def twos_complement_le(n: int) -> bytes:
    """Minimal little-endian two's-complement bytes of ``n`` (b"" for 0)."""
    if n == 0:
        return b""
    size = 1
    while not -(1 << (8 * size - 1)) <= n < (1 << (8 * size - 1)):
        size += 1
    return n.to_bytes(size, "little", signed=True)


# --- opcodes with their arguments ---------------------------------------------


def proto(n: int) -> bytes:
    return PROTO + u1(n)


def frame(body: bytes) -> bytes:
    """A FRAME opcode announcing ``body`` followed by ``body`` itself."""
    return FRAME + u8(len(body)) + body


def int_(text: bytes | int) -> bytes:
    if isinstance(text, int):
        text = str(text).encode()
    return INT + text + b"\n"


def long_(text: bytes | int) -> bytes:
    if isinstance(text, int):
        text = str(text).encode() + b"L"
    return LONG + text + b"\n"


def float_(text: bytes) -> bytes:
    return FLOAT + text + b"\n"


def binint(n: int) -> bytes:
    return BININT + i4(n)


def binint1(n: int) -> bytes:
    return BININT1 + u1(n)


def binint2(n: int) -> bytes:
    return BININT2 + u2(n)


def long1(n: int) -> bytes:
    body = twos_complement_le(n)
    return LONG1 + u1(len(body)) + body


def long4(n: int) -> bytes:
    body = twos_complement_le(n)
    return LONG4 + i4(len(body)) + body


def binfloat(x: float) -> bytes:
    return BINFLOAT + struct.pack(">d", x)


def string(quoted: bytes) -> bytes:
    """STRING with the argument exactly as given (quotes included by caller)."""
    return STRING + quoted + b"\n"


def binstring(data: bytes) -> bytes:
    return BINSTRING + i4(len(data)) + data


def short_binstring(data: bytes) -> bytes:
    return SHORT_BINSTRING + u1(len(data)) + data


def unicode_(raw: bytes) -> bytes:
    """UNICODE with an already raw-unicode-escape encoded argument."""
    return UNICODE + raw + b"\n"


def binunicode(s: str) -> bytes:
    data = s.encode("utf-8", "surrogatepass")
    return BINUNICODE + u4(len(data)) + data


def short_binunicode(s: str) -> bytes:
    data = s.encode("utf-8", "surrogatepass")
    return SHORT_BINUNICODE + u1(len(data)) + data


def binunicode8(s: str) -> bytes:
    data = s.encode("utf-8", "surrogatepass")
    return BINUNICODE8 + u8(len(data)) + data


def binbytes(data: bytes) -> bytes:
    return BINBYTES + u4(len(data)) + data


def short_binbytes(data: bytes) -> bytes:
    return SHORT_BINBYTES + u1(len(data)) + data


def binbytes8(data: bytes) -> bytes:
    return BINBYTES8 + u8(len(data)) + data


def bytearray8(data: bytes) -> bytes:
    return BYTEARRAY8 + u8(len(data)) + data


def global_(module: str, name: str) -> bytes:
    return GLOBAL + module.encode() + b"\n" + name.encode() + b"\n"


def stack_global(module: str, name: str) -> bytes:
    return short_binunicode(module) + short_binunicode(name) + STACK_GLOBAL


def inst(module: str, name: str) -> bytes:
    return INST + module.encode() + b"\n" + name.encode() + b"\n"


def persid(pid: bytes) -> bytes:
    return PERSID + pid + b"\n"


def put(i: int | bytes) -> bytes:
    return PUT + (str(i).encode() if isinstance(i, int) else i) + b"\n"


def get(i: int | bytes) -> bytes:
    return GET + (str(i).encode() if isinstance(i, int) else i) + b"\n"


def binput(i: int) -> bytes:
    return BINPUT + u1(i)


def long_binput(i: int) -> bytes:
    return LONG_BINPUT + u4(i)


def binget(i: int) -> bytes:
    return BINGET + u1(i)


def long_binget(i: int) -> bytes:
    return LONG_BINGET + u4(i)


def ext(code: int) -> bytes:
    """The smallest EXT opcode that can carry ``code``."""
    if 0 <= code < 0x100:
        return EXT1 + u1(code)
    if 0 <= code < 0x10000:
        return EXT2 + u2(code)
    return EXT4 + i4(code)


def pk(*parts: bytes, protocol: int | None = None, stop: bool = True) -> bytes:
    """Join opcode chunks, optionally prefixed by PROTO and ended by STOP."""
    head = proto(protocol) if protocol is not None else b""
    return head + b"".join(parts) + (STOP if stop else b"")
