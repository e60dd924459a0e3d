"""Opcodes the caller's hooks answer: PERSID/BINPERSID, EXT1/EXT2/EXT4,
NEXT_BUFFER/READONLY_BUFFER."""

from __future__ import annotations

from typing import Any

from helpers.opcode_cases.common import V, persistent

VALID: list[Any] = [
    # ---- PERSID / BINPERSID
    V(b"Pabc\n.", {"persistent_load": persistent}, id="PERSID"),
    V(b"P\n.", {"persistent_load": persistent}, id="PERSID-empty"),
    V(b"K\x05Q.", {"persistent_load": persistent}, id="BINPERSID"),
    V(b"(K\x01S'x'\ntQ.", {"persistent_load": persistent}, id="BINPERSID-tuple"),
]

BAD_STACK: list[Any] = [
    V(b"Q.", {"persistent_load": persistent}, id="BINPERSID-empty"),
    V(b"\x98.", {}, id="READONLY_BUFFER-empty"),
    V(b"K\x01\x98.", {}, id="READONLY_BUFFER-int"),
]

TRUNCATED: list[Any] = [
    V(b"Pabc", id="PERSID"),
    V(b"\x82", id="EXT1"),
    V(b"\x83\x01", id="EXT2"),
    V(b"\x84\x01\x00\x00", id="EXT4"),
]

MALFORMED: list[Any] = [
    V(b"Pabc\n.", {}, id="PERSID-no-hook"),
    V(b"K\x01Q.", {}, id="BINPERSID-no-hook"),
    V(b"P\xe9\n.", {"persistent_load": persistent}, id="PERSID-non-ascii"),
    V(b"\x80\x05\x97.", {}, id="NEXT_BUFFER-no-buffers"),
    V(b"\x80\x05\x97\x97\x86.", {"buffers": [b"a"]}, id="NEXT_BUFFER-exhausted"),
    V(b"\x80\x02\x82\x00.", {}, id="EXT1-code-0"),
    V(b"\x80\x02\x84\xff\xff\xff\xff.", {}, id="EXT4-negative-code"),
    V(b"\x80\x02\x83\xcd\xab.", {}, id="EXT2-unregistered"),
    V(b"\x80\x02\x84\xcd\xab\x00\x00.", {}, id="EXT4-unregistered"),
]
