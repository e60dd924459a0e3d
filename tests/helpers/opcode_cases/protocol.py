"""PROTO, STOP and FRAME, and bytes that are no opcode at all."""

from __future__ import annotations

from typing import Any

from helpers import pickle_bytes as pb
from helpers.opcode_cases.common import V

VALID: list[Any] = [
    # ---- PROTO / STOP
    *[V(pb.pk(pb.NONE, protocol=p), {}, id=f"PROTO-{p}") for p in range(6)],
    V(b"N.", {}, id="STOP-no-proto"),
    V(b"N.trailing garbage", {}, id="STOP-ignores-trailing-bytes"),
    V(b"K\x01K\x02.", {}, id="STOP-returns-top-leaves-rest"),
    # ---- FRAME
    V(b"\x80\x04" + pb.frame(b"K\x01."), {}, id="FRAME"),
    V(
        b"\x80\x04" + pb.frame(b"](K\x01") + pb.frame(b"K\x02e."),
        {},
        id="FRAME-two-frames",
    ),
    V(b"\x80\x04" + pb.frame(b"](K\x01") + b"K\x02e.", {}, id="FRAME-then-unframed"),
    V(b"\x80\x04" + pb.frame(b"") + b"N.", {}, id="FRAME-empty"),
    # an argument that starts exactly at the end of a frame is read unframed
    V(b"\x80\x04" + pb.frame(b"K") + b"\x01.", {}, id="FRAME-arg-after-frame-end"),
    V(
        b"\x80\x04" + pb.frame(b"]") + pb.frame(b"K\x01a") + pb.frame(b"."),
        {},
        id="FRAME-STOP-in-own-frame",
    ),
]

BAD_STACK: list[Any] = [
    V(b".", {}, id="STOP-empty-stack"),
    V(b"K\x01(.", {}, id="STOP-only-below-mark"),
]

TRUNCATED: list[Any] = [
    V(b"", id="empty-input"),
    V(b"\x80", id="PROTO"),
    V(b"\x80\x04\x95\x05\x00\x00", id="FRAME-length"),
    V(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00N.", id="FRAME-longer-than-data"),
    # no STOP after a complete opcode
    V(b"N", id="no-STOP-NONE"),
    V(b"\x80\x02\x88", id="no-STOP-NEWTRUE"),
    V(b"]K\x01a", id="no-STOP-APPEND"),
    V(b"(K\x01", id="no-STOP-open-MARK"),
    V(b"K\x01\x85", id="no-STOP-TUPLE1"),
    V(b"\x80\x04" + pb.frame(b"N"), id="no-STOP-after-FRAME"),
]

MALFORMED: list[Any] = [
    V(b"\xff.", {}, id="unknown-opcode-ff"),
    V(b"\x00.", {}, id="unknown-opcode-00"),
    V(b"N\xb0.", {}, id="unknown-opcode-after-valid"),
    V(b"\x80\x06N.", {}, id="PROTO-6"),
    V(b"\x80\xffN.", {}, id="PROTO-255"),
    V(b"\x80\x04\x95" + b"\xff" * 8 + b"N.", {}, id="FRAME-over-maxsize"),
]
