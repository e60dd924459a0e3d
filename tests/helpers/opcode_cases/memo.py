"""The memo: PUT/GET, BINPUT/BINGET, LONG_BINPUT/LONG_BINGET, MEMOIZE."""

from __future__ import annotations

from typing import Any

from helpers import pickle_bytes as pb
from helpers.opcode_cases.common import S, V

VALID: list[Any] = [
    # ---- memo
    V(b"K\x05p0\n0g0\n.", {}, id="PUT-GET"),
    V(b"K\x05p123\n0g123\n.", {}, id="PUT-GET-sparse"),
    V(b"K\x05q\x07K\x06q\x07h\x07.", {}, id="BINPUT-overwrite"),
    V(b"K\x05q\x00h\x00.", {}, id="BINPUT-BINGET"),
    V(b"K\x05r\x00\x01\x00\x00j\x00\x01\x00\x00.", {}, id="LONG_BINPUT-LONG_BINGET"),
    V(b"K\x05q\x00j\x00\x00\x00\x00.", {}, id="BINPUT-LONG_BINGET"),
    V(b"K\x05r\x03\x00\x00\x00h\x03.", {}, id="LONG_BINPUT-BINGET"),
    V(b"K\x05p3\nh\x03.", {}, id="PUT-BINGET"),
    V(b"K\x05\x94h\x00.", {}, id="MEMOIZE"),
    V(b"K\x05\x94K\x06\x94h\x00h\x01\x86.", {}, id="MEMOIZE-twice"),
    V(b"K\x07q\x05K\x08\x94h\x01.", {}, id="MEMOIZE-index-is-memo-count"),
    V(b"K\x01q\x00K\x02q\x00K\x03\x94h\x01.", {}, id="MEMOIZE-after-overwrite"),
    V(
        b"\x80\x04K\x05\x94" + b"\x8c\x01a\x94" + b"j\x00\x00\x00\x00h\x01\x86.",
        {},
        id="MEMOIZE-proto4",
    ),
    # the machine memoizes these objects as it makes them when MEMOIZE follows
    V(b"K\x01\x85\x94h\x00h\x00\x86.", {}, id="MEMOIZE-after-TUPLE1"),
    V(
        b"K\x01K\x02\x86\x94K\x03K\x04\x87\x94h\x00h\x01\x86.",
        {},
        id="MEMOIZE-TUPLE2-3",
    ),
    V(b"(K\x01K\x02t\x94h\x00.", {}, id="MEMOIZE-after-TUPLE"),
    V(b"K\x01q\xffK\x02\x85\x94h\x01h\xff\x86.", {}, id="MEMOIZE-after-TUPLE1-sparse"),
    V(
        b"\x80\x04" + pb.frame(b"K\x01\x85") + pb.frame(b"\x94h\x00."),
        {},
        id="MEMOIZE-after-TUPLE1-next-frame",
    ),
    V(b"\x80\x04K\x01\x85\x94.", {}, id="MEMOIZE-after-TUPLE1-then-STOP"),
    V(
        b"\x80\x04" + S("builtins") + S("int") + b"\x93\x94h\x00S'7'\n\x85R\x94h\x01.",
        {},
        id="MEMOIZE-after-STACK_GLOBAL-REDUCE",
    ),
    V(
        b"\x80\x04" + S("builtins") + S("list") + b"\x93)\x81\x94h\x00.",
        {},
        id="MEMOIZE-after-NEWOBJ",
    ),
]

BAD_STACK: list[Any] = [
    V(b"\x94.", {}, id="MEMOIZE-empty"),
    V(b"p0\n.", {}, id="PUT-empty"),
    V(b"q\x00.", {}, id="BINPUT-empty"),
    V(b"r\x00\x00\x00\x00.", {}, id="LONG_BINPUT-empty"),
    V(b"K\x01(q\x00.", {}, id="BINPUT-hidden-by-mark"),
    V(b"g0\n.", {}, id="GET-missing"),
    V(b"h\x00.", {}, id="BINGET-missing"),
    V(b"j\x00\x00\x00\x00.", {}, id="LONG_BINGET-missing"),
    V(b"Nq\x01h\x00.", {}, id="BINGET-other-index"),
    V(b"Nq\x01j\x01\x00\x00\x01.", {}, id="LONG_BINGET-other-index"),
]

TRUNCATED: list[Any] = [
    V(b"Np0", id="PUT"),
    V(b"Np0\ng0", id="GET"),
    V(b"]h", id="BINGET"),
    V(b"]j\x00\x00", id="LONG_BINGET"),
    V(b"Nq", id="BINPUT"),
    V(b"Nr\x00", id="LONG_BINPUT"),
]

MALFORMED: list[Any] = [
    V(b"Np-1\n.", {}, id="PUT-negative"),
    V(b"Npx\n.", {}, id="PUT-letters"),
    V(b"Np\n.", {}, id="PUT-empty-arg"),
    V(b"gx\n.", {}, id="GET-letters"),
    V(b"Np0\ng-1\n.", {}, id="GET-negative"),
]
