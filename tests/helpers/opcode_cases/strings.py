"""Text and bytes: STRING, BINSTRING/SHORT_BINSTRING, UNICODE, BINUNICODE/
BINUNICODE8/SHORT_BINUNICODE, BINBYTES/BINBYTES8/SHORT_BINBYTES, BYTEARRAY8."""

from __future__ import annotations

from typing import Any

from helpers import pickle_bytes as pb
from helpers.opcode_cases.common import V

VALID: list[Any] = [
    # ---- STRING (protocol 0 str): quotes, escapes, encodings
    V(b"S'abc'\n.", {}, id="STRING"),
    V(b"S''\n.", {}, id="STRING-empty"),
    V(b'S"it\'s"\n.', {}, id="STRING-double-quoted"),
    V(b"S'a\\nb\\t\\\\c\\''\n.", {}, id="STRING-escapes"),
    V(b"S'\\x41\\102\\0'\n.", {}, id="STRING-hex-octal-escapes"),
    V(b"S'caf\\xe9'\n.", {"encoding": "latin1"}, id="STRING-latin1"),
    V(b"S'caf\\xe9'\n.", {"encoding": "bytes"}, id="STRING-bytes"),
    V(b"S'caf\\xc3\\xa9'\n.", {"encoding": "utf-8"}, id="STRING-utf8"),
    V(b"S'caf\\xe9'\n.", {"errors": "replace"}, id="STRING-ascii-replace"),
    V(b"S'abc'\n.", {"encoding": "bytes"}, id="STRING-ascii-as-bytes"),
    # ---- BINSTRING / SHORT_BINSTRING
    V(pb.binstring(b"abc") + b".", {}, id="BINSTRING"),
    V(pb.binstring(b"") + b".", {}, id="BINSTRING-empty"),
    V(pb.binstring(b"x" * 300) + b".", {}, id="BINSTRING-long"),
    V(pb.binstring(b"caf\xe9") + b".", {"encoding": "latin1"}, id="BINSTRING-latin1"),
    V(pb.binstring(b"caf\xe9") + b".", {"encoding": "bytes"}, id="BINSTRING-bytes"),
    V(pb.short_binstring(b"abc") + b".", {}, id="SHORT_BINSTRING"),
    V(pb.short_binstring(b"") + b".", {}, id="SHORT_BINSTRING-empty"),
    V(
        pb.short_binstring(b"\xff") + b".",
        {"encoding": "latin1"},
        id="SHORT_BINSTRING-latin1",
    ),
    V(
        pb.short_binstring(b"\xff") + b".",
        {"encoding": "bytes"},
        id="SHORT_BINSTRING-bytes",
    ),
    # ---- UNICODE (raw-unicode-escape)
    V(b"Vabc\n.", {}, id="UNICODE"),
    V(b"V\n.", {}, id="UNICODE-empty"),
    V(b"Vcaf\xe9\n.", {}, id="UNICODE-raw-latin1-byte"),
    V(b"V\\u20ac\\U0001f600\n.", {}, id="UNICODE-escapes"),
    V(b"V\\u005c\\u000a\n.", {}, id="UNICODE-escaped-backslash-newline"),
    V(b"Va\\b\n.", {}, id="UNICODE-lone-backslash-is-literal"),
    # ---- unicode opcodes
    V(pb.binunicode("abc") + b".", {}, id="BINUNICODE"),
    V(pb.binunicode("") + b".", {}, id="BINUNICODE-empty"),
    V(pb.binunicode("caf\xe9\u20ac\U0001f600") + b".", {}, id="BINUNICODE-utf8"),
    V(pb.binunicode("\ud800x\udfff") + b".", {}, id="BINUNICODE-surrogatepass"),
    V(pb.binunicode8("caf\xe9") + b".", {}, id="BINUNICODE8"),
    V(pb.binunicode8("") + b".", {}, id="BINUNICODE8-empty"),
    V(pb.short_binunicode("caf\xe9") + b".", {}, id="SHORT_BINUNICODE"),
    V(pb.short_binunicode("\udc80") + b".", {}, id="SHORT_BINUNICODE-surrogate"),
    # ---- bytes opcodes
    V(pb.binbytes(b"\x00\xff") + b".", {}, id="BINBYTES"),
    V(pb.binbytes(b"") + b".", {}, id="BINBYTES-empty"),
    V(pb.binbytes8(b"\x00\xff") + b".", {}, id="BINBYTES8"),
    V(pb.short_binbytes(b"\x00\xff") + b".", {}, id="SHORT_BINBYTES"),
    V(
        pb.short_binbytes(b"abc") + b".",
        {"encoding": "latin1"},
        id="SHORT_BINBYTES-ignores-encoding",
    ),
    V(pb.bytearray8(b"\x00\xff") + b".", {}, id="BYTEARRAY8"),
    V(pb.bytearray8(b"") + b".", {}, id="BYTEARRAY8-empty"),
]

TRUNCATED: list[Any] = [
    V(b"S'abc'", id="STRING-no-newline"),
    V(b"S'ab", id="STRING-half"),
    V(b"Vabc", id="UNICODE"),
    V(b"T\x03\x00", id="BINSTRING-length"),
    V(b"T\x03\x00\x00\x00ab", id="BINSTRING-body"),
    V(b"U", id="SHORT_BINSTRING-length"),
    V(b"U\x03ab", id="SHORT_BINSTRING-body"),
    V(b"X\x03", id="BINUNICODE-length"),
    V(b"X\x03\x00\x00\x00ab", id="BINUNICODE-body"),
    V(b"X\x02\x00\x00\x00\xc3", id="BINUNICODE-cut-in-utf8-char"),
    V(b"\x8d\x03\x00", id="BINUNICODE8-length"),
    V(b"\x8d\x03\x00\x00\x00\x00\x00\x00\x00ab", id="BINUNICODE8-body"),
    V(b"\x8c", id="SHORT_BINUNICODE-length"),
    V(b"\x8c\x03ab", id="SHORT_BINUNICODE-body"),
    V(b"B\x03\x00\x00", id="BINBYTES-length"),
    V(b"B\x03\x00\x00\x00ab", id="BINBYTES-body"),
    V(b"\x8e\x03\x00\x00\x00", id="BINBYTES8-length"),
    V(b"\x8e\x03\x00\x00\x00\x00\x00\x00\x00ab", id="BINBYTES8-body"),
    V(b"C", id="SHORT_BINBYTES-length"),
    V(b"C\x03ab", id="SHORT_BINBYTES-body"),
    V(b"\x96\x03\x00\x00\x00\x00\x00\x00", id="BYTEARRAY8-length"),
    V(b"\x96\x03\x00\x00\x00\x00\x00\x00\x00ab", id="BYTEARRAY8-body"),
]

MALFORMED: list[Any] = [
    V(b"Sabc\n.", {}, id="STRING-unquoted"),
    V(b"S'abc\"\n.", {}, id="STRING-mismatched-quotes"),
    V(b"S'\n.", {}, id="STRING-single-quote-char"),
    V(b"S\n.", {}, id="STRING-empty"),
    V(b"S'abc\n.", {}, id="STRING-missing-close-quote"),
    V(b"S'\\x4'\n.", {}, id="STRING-bad-hex-escape"),
    V(b"S'abc\\'\n.", {}, id="STRING-trailing-backslash"),
    V(b"S'caf\\xe9'\n.", {}, id="STRING-non-ascii-default-encoding"),
    V(b"S'\\xff'\n.", {"encoding": "utf-8"}, id="STRING-bad-utf8"),
    V(b"T\xff\xff\xff\xffabc.", {}, id="BINSTRING-negative-length"),
    V(b"U\x01\xe9.", {}, id="SHORT_BINSTRING-non-ascii-default"),
    V(b"T\x01\x00\x00\x00\xe9.", {}, id="BINSTRING-non-ascii-default"),
    V(b"V\\u12\n.", {}, id="UNICODE-short-escape"),
    V(b"V\\U00110000\n.", {}, id="UNICODE-out-of-range"),
    V(b"X\x01\x00\x00\x00\xff.", {}, id="BINUNICODE-bad-utf8"),
    V(b"\x8c\x01\xff.", {}, id="SHORT_BINUNICODE-bad-utf8"),
    V(b"\x8d\x01\x00\x00\x00\x00\x00\x00\x00\xff.", {}, id="BINUNICODE8-bad-utf8"),
    V(b"\x8e" + b"\xff" * 8 + b".", {}, id="BINBYTES8-over-maxsize"),
    V(b"\x8d" + b"\xff" * 8 + b".", {}, id="BINUNICODE8-over-maxsize"),
    V(b"\x96" + b"\xff" * 8 + b".", {}, id="BYTEARRAY8-over-maxsize"),
]
