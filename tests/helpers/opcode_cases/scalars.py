"""Ints, floats, bools and None: INT, LONG, FLOAT, BININT/BININT1/BININT2,
LONG1/LONG4, BINFLOAT, NONE, NEWTRUE, NEWFALSE."""

from __future__ import annotations

import math
from typing import Any

from helpers import pickle_bytes as pb
from helpers.opcode_cases.common import V

VALID: list[Any] = [
    # ---- INT
    V(b"I42\n.", {}, id="INT"),
    V(b"I-7\n.", {}, id="INT-negative"),
    V(b"I+5\n.", {}, id="INT-plus"),
    V(b"I0\n.", {}, id="INT-zero-is-int"),
    V(b"I1\n.", {}, id="INT-one-is-int"),
    V(b"I00\n.", {}, id="INT-I00-False"),
    V(b"I01\n.", {}, id="INT-I01-True"),
    V(b"I12345678901234567890\n.", {}, id="INT-big"),
    V(b"I-12345678901234567890\n.", {}, id="INT-big-negative"),
    # ---- LONG
    V(b"L42L\n.", {}, id="LONG-trailing-L"),
    V(b"L-42L\n.", {}, id="LONG-negative"),
    V(b"L0L\n.", {}, id="LONG-zero"),
    V(b"L123456789012345678901234567890L\n.", {}, id="LONG-big"),
    V(b"L42\n.", {}, id="LONG-without-L"),
    # ---- FLOAT
    V(b"F1.5\n.", {}, id="FLOAT"),
    V(b"F-0.0\n.", {}, id="FLOAT-negative-zero"),
    V(b"F0.10000000000000001\n.", {}, id="FLOAT-py2-repr"),
    V(b"F1e100\n.", {}, id="FLOAT-exp"),
    V(b"Finf\n.", {}, id="FLOAT-inf"),
    V(b"F-inf\n.", {}, id="FLOAT-neg-inf"),
    V(b"Fnan\n.", {}, id="FLOAT-nan"),
    V(b"F3\n.", {}, id="FLOAT-integral-text"),
    # ---- BININT / BININT1 / BININT2
    V(pb.binint(0) + b".", {}, id="BININT-0"),
    V(pb.binint(-1) + b".", {}, id="BININT-neg1"),
    V(pb.binint(-(2**31)) + b".", {}, id="BININT-min"),
    V(pb.binint(2**31 - 1) + b".", {}, id="BININT-max"),
    V(b"K\x00.", {}, id="BININT1-0"),
    V(b"K\xff.", {}, id="BININT1-255-unsigned"),
    V(b"M\x00\x01.", {}, id="BININT2-256"),
    V(b"M\xff\xff.", {}, id="BININT2-65535-unsigned"),
    # ---- LONG1 / LONG4
    V(b"\x8a\x00.", {}, id="LONG1-empty-is-0"),
    V(pb.long1(255) + b".", {}, id="LONG1-255"),
    V(pb.long1(-1) + b".", {}, id="LONG1-neg1"),
    V(b"\x8a\x01\x80.", {}, id="LONG1-neg128"),
    V(b"\x8a\x02\x01\x00.", {}, id="LONG1-nonminimal"),
    V(pb.long1(2**64) + b".", {}, id="LONG1-2**64"),
    V(pb.long1(-(2**2000)) + b".", {}, id="LONG1-huge-neg"),
    V(b"\x8b\x00\x00\x00\x00.", {}, id="LONG4-empty-is-0"),
    V(pb.long4(2**100) + b".", {}, id="LONG4-2**100"),
    V(pb.long4(-(2**3000) + 7) + b".", {}, id="LONG4-big-neg"),
    # ---- BINFLOAT
    V(pb.binfloat(1.5) + b".", {}, id="BINFLOAT"),
    V(pb.binfloat(-0.0) + b".", {}, id="BINFLOAT-neg-zero"),
    V(pb.binfloat(math.inf) + b".", {}, id="BINFLOAT-inf"),
    V(pb.binfloat(math.nan) + b".", {}, id="BINFLOAT-nan"),
    V(pb.binfloat(5e-324) + b".", {}, id="BINFLOAT-denormal"),
    # ---- singletons
    V(b"N.", {}, id="NONE"),
    V(b"\x88.", {}, id="NEWTRUE"),
    V(b"\x89.", {}, id="NEWFALSE"),
]

TRUNCATED: list[Any] = [
    V(b"I12", id="INT-no-newline"),
    V(b"I", id="INT-nothing"),
    V(b"L12L", id="LONG"),
    V(b"F1.5", id="FLOAT"),
    V(b"J\x01\x02", id="BININT"),
    V(b"J", id="BININT-nothing"),
    V(b"K", id="BININT1"),
    V(b"M\x01", id="BININT2"),
    V(b"\x8a", id="LONG1-length"),
    V(b"\x8a\x02\x01", id="LONG1-body"),
    V(b"\x8b\x01\x00", id="LONG4-length"),
    V(b"\x8b\x02\x00\x00\x00\x01", id="LONG4-body"),
    V(b"G\x3f\xf0", id="BINFLOAT"),
]

MALFORMED: list[Any] = [
    V(b"Iabc\n.", {}, id="INT-letters"),
    V(b"I\n.", {}, id="INT-empty"),
    V(b"I1.5\n.", {}, id="INT-float-text"),
    V(b"Labc\n.", {}, id="LONG-letters"),
    V(b"L\n.", {}, id="LONG-empty"),
    V(b"LL\n.", {}, id="LONG-only-L"),
    V(b"Fabc\n.", {}, id="FLOAT-letters"),
    V(b"F\n.", {}, id="FLOAT-empty"),
    V(b"\x8b\xff\xff\xff\xff.", {}, id="LONG4-negative-length"),
]
