"""Differential: the disassembler and the scanner name the same globals.

``emulpickle.disasm.disassemble`` and ``emulpickle.scan`` follow the same
opcodes with two symbolic stacks of their own. For generated pickles (mostly
well-formed programs of every opcode, spelling names every way: GLOBAL,
INST, STACK_GLOBAL from any string opcode, memoized or duplicated, EXT
codes registered or not, computed names; then broken at random: stray
opcodes, frames of any length, truncation) both must name the same
``(module, name, via)`` at the same first offset, and both must stop at the
same offset or both read to the end.

The scanner does not decode arguments it needs no value of (INT lines,
floats, UTF-8 of strings), while the disassembler shows them, so the
generated arguments are always well-formed: only the structure breaks.
"""

from __future__ import annotations

import copyreg
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from emulpickle import UnpicklingError
from emulpickle.disasm import disassemble
from emulpickle.formats.magic import joblib_compression as compression
from emulpickle.scan import scan

#: How each reader names a global; other findings (BUILD states) are the
#: scanner's own.
GLOBAL_VIAS = {"GLOBAL", "STACK_GLOBAL", "INST", "EXT1", "EXT2", "EXT4"}
#: An extension code registered in copyreg while the test runs.
EXT_CODE = 0x5EC
EXT_KEY = ("emulpickle_agree_mod", "Registered")

Refs = dict[tuple[str | None, str | None, str], int]

# Names: plain, dotted, non-ASCII (UTF-8 for Unicode opcodes, and as bytes
# for Python 2 strings), and names of modules the scanner calls dangerous.
NAMES = ["os", "system", "builtins", "eval", "a.b", "c.d.e", "caf\u00e9", "x", "_"]
ASCII_NAMES = [n for n in NAMES if n.isascii()]


def _u8(n: int) -> bytes:
    return struct.pack("<B", n)


def _string(draw: st.DrawFn, name: str) -> bytes:
    """``name`` pushed by one of the seven string opcodes."""
    raw = name.encode()
    kind = draw(st.integers(0, 6))
    if kind == 0:
        return b"\x8c" + _u8(len(raw)) + raw  # SHORT_BINUNICODE
    if kind == 1:
        return b"X" + struct.pack("<I", len(raw)) + raw  # BINUNICODE
    if kind == 2:
        return b"\x8d" + struct.pack("<Q", len(raw)) + raw  # BINUNICODE8
    if kind == 3:
        return b"U" + _u8(len(raw)) + raw  # SHORT_BINSTRING
    if kind == 4:
        return b"T" + struct.pack("<i", len(raw)) + raw  # BINSTRING
    if kind == 5:  # STRING: a quoted Python 2 literal
        return b"S'" + raw.decode("latin-1").encode("unicode_escape") + b"'\n"
    return b"V" + name.encode("raw_unicode_escape") + b"\n"  # UNICODE


def _atom(draw: st.DrawFn) -> bytes:
    """A value that is never a name."""
    return draw(
        st.sampled_from(
            [
                b"N",
                b"\x88",
                b"\x89",
                b"K\x07",
                b"M\x01\x02",
                b"J\xff\xff\xff\xff",
                b"I42\n",
                b"I01\n",
                b"L-7L\n",
                b"F1.5\n",
                b"G" + struct.pack(">d", 2.5),
                b"\x8a\x02\x01\x80",
                b"\x8b\x01\x00\x00\x00\x05",
                b"C\x02ab",
                b"B\x01\x00\x00\x00z",
                b"\x8e\x01\x00\x00\x00\x00\x00\x00\x00z",
                b"\x96\x01\x00\x00\x00\x00\x00\x00\x00z",
                b"]",
                b")",
                b"}",
                b"\x8f",
                b"Pid\n",
            ]
        )
    )


class _Program:
    """A pickle being generated, with a rough model of its stack."""

    def __init__(self) -> None:
        self.out: list[bytes] = []
        self.stack: list[bool] = []  # whether each item is a string
        self.marks: list[int] = []
        self.memo: dict[int, bool] = {}

    def above(self) -> int:
        return len(self.stack) - (self.marks[-1] if self.marks else 0)

    def push(self, piece: bytes, is_str: bool = False) -> None:
        self.out.append(piece)
        self.stack.append(is_str)

    def pop(self, piece: bytes, n: int, pushes: bool = True) -> None:
        self.out.append(piece)
        del self.stack[len(self.stack) - n :]
        if pushes:
            self.stack.append(False)

    def pop_mark(self, piece: bytes, pushes: bool, below: bool = False) -> None:
        self.out.append(piece)
        del self.stack[self.marks.pop() :]
        if below:
            self.stack[-1] = False
        elif pushes:
            self.stack.append(False)


def _step(draw: st.DrawFn, p: _Program) -> None:
    """One opcode that fits the program's stack (most of the time)."""
    above = p.above()
    choices = ["atom", "string", "global", "ext", "mark"]
    if above >= 1:
        choices += ["pop", "dup", "memo", "one"]
    if above >= 2:
        choices += ["stack_global", "stack_global", "two"]
    if above >= 3:
        choices += ["three"]
    if p.marks:
        choices += ["mark_op", "pop_mark"]
        if above >= 1:
            choices += ["obj"]
        if p.marks[-1] > (p.marks[-2] if len(p.marks) > 1 else 0):
            choices += ["into"]  # there is a value below the MARK
        choices += ["inst"]
    if p.memo:
        choices += ["get", "get"]
    choice = draw(st.sampled_from(choices))
    if choice == "atom":
        p.push(_atom(draw))
    elif choice == "string":
        p.push(_string(draw, draw(st.sampled_from(NAMES))), True)
    elif choice == "global":
        module, name = draw(st.sampled_from(NAMES)), draw(st.sampled_from(NAMES))
        p.push(b"c" + module.encode() + b"\n" + name.encode() + b"\n")
    elif choice == "ext":
        code = draw(st.sampled_from([EXT_CODE, 1, 0x7FFF, 70000]))
        if code <= 0xFF and draw(st.booleans()):
            p.push(b"\x82" + _u8(code))
        elif code <= 0xFFFF and draw(st.booleans()):
            p.push(b"\x83" + struct.pack("<H", code))
        else:
            p.push(b"\x84" + struct.pack("<i", code))
    elif choice == "mark":
        p.out.append(b"(")
        p.marks.append(len(p.stack))
    elif choice == "pop":
        p.pop(b"0", 1, pushes=False)
    elif choice == "dup":
        p.push(b"2", p.stack[-1])
    elif choice == "memo":
        index = draw(st.integers(0, 3)) if draw(st.booleans()) else len(p.memo)
        piece = draw(
            st.sampled_from(
                [
                    b"\x94",
                    b"q" + _u8(index),
                    b"r" + struct.pack("<I", index),
                    b"p%d\n" % index,
                ]
            )
        )
        if piece == b"\x94":
            index = len(p.memo)
        p.memo[index] = p.stack[-1]
        p.out.append(piece)
    elif choice == "get":
        index = draw(st.sampled_from(sorted(p.memo)))
        piece = draw(
            st.sampled_from(
                [b"h" + _u8(index), b"j" + struct.pack("<I", index), b"g%d\n" % index]
            )
        )
        p.push(piece, p.memo[index])
    elif choice == "one":
        p.pop(draw(st.sampled_from([b"\x85", b"Q", b"\x98"])), 1)
    elif choice == "stack_global":
        p.pop(b"\x93", 2)
    elif choice == "two":
        piece = draw(st.sampled_from([b"R", b"b", b"\x81", b"a", b"\x86"]))
        if piece in (b"b", b"a"):  # the target stays
            p.out.append(piece)
            p.stack.pop()
            p.stack[-1] = False
        else:
            p.pop(piece, 2)
    elif choice == "three":
        piece = draw(st.sampled_from([b"s", b"\x87", b"\x92"]))
        if piece == b"s":
            p.out.append(piece)
            del p.stack[-2:]
            p.stack[-1] = False
        else:
            p.pop(piece, 3)
    elif choice == "mark_op":
        p.pop_mark(draw(st.sampled_from([b"l", b"t", b"d", b"\x91"])), True)
    elif choice == "pop_mark":
        p.pop_mark(b"1", False)
    elif choice == "into":
        p.pop_mark(draw(st.sampled_from([b"e", b"u", b"\x90"])), False, below=True)
    elif choice == "obj":
        p.pop_mark(b"o", True)
    else:  # INST: names as the loader decodes them, ASCII
        module = draw(st.sampled_from(ASCII_NAMES))
        name = draw(st.sampled_from(ASCII_NAMES))
        p.pop_mark(b"i" + module.encode() + b"\n" + name.encode() + b"\n", True)


def _stray(draw: st.DrawFn) -> bytes:
    """Any opcode, with a plausible argument: breaks the structure."""
    if draw(st.booleans()):
        return _atom(draw)
    return draw(
        st.sampled_from(
            [
                *(b".", b"0", b"1", b"2", b"R", b"b", b"s", b"u", b"e", b"l", b"t"),
                *(b"d", b"o", b"\x93", b"\x94", b"\x81", b"\x92", b"(", b"\xff"),
                *(b"h\x09", b"g7\n", b"g-1\n", b"q\x00", b"imod\nname\n"),
                *(b"\x80\x06", b"\x80\x02", b"\x80\x04", b"T\xff\xff\xff\xff"),
            ]
        )
    )


@st.composite
def pickles(draw: st.DrawFn) -> bytes:
    """Stacked pickles, mostly well-formed, then broken at random."""
    parts: list[bytes] = []
    for _ in range(draw(st.integers(1, 2))):
        p = _Program()
        proto = draw(st.sampled_from([None, 0, 1, 2, 3, 4, 5]))
        if proto is not None:
            p.out.append(b"\x80" + _u8(proto))
        for _ in range(draw(st.integers(0, 25))):
            if draw(st.integers(0, 19)) == 0:
                p.out.append(_stray(draw))
            else:
                _step(draw, p)
        if p.above() == 0 or draw(st.integers(0, 9)) == 0:
            p.push(b"N")
        p.out.append(b".")
        pieces = p.out
        # Frames: over a run of whole opcodes (what picklers write), or of
        # any length, starting anywhere after the first opcode.
        for _ in range(draw(st.integers(0, 2))):
            at = draw(st.integers(1, len(pieces)))
            span = draw(st.integers(0, len(pieces) - at))
            length = sum(map(len, pieces[at : at + span]))
            if draw(st.booleans()):
                length += draw(st.integers(-3, 3))
            length = max(0, length)
            pieces = [*pieces[:at], b"\x95" + struct.pack("<Q", length), *pieces[at:]]
        parts.append(b"".join(pieces))
    data = b"".join(parts)
    if draw(st.integers(0, 3)) == 0:
        data = data[: draw(st.integers(1, len(data)))]
    return data


def disasm_outcome(data: bytes) -> tuple[Refs, int | None]:
    """The globals the disassembler names in every stacked pickle, and the
    offset where it stops on an error (None: it read to the end)."""
    refs: Refs = {}
    pos = 0
    while pos < len(data):
        try:
            for ins in disassemble(data, start=pos):
                ref = ins.global_ref
                if ref is not None:
                    refs.setdefault((ref.module, ref.name, ref.via), ins.offset)
                pos = ins.offset + 1
        except UnpicklingError as exc:
            return refs, exc.offset
    return refs, None


def scan_outcome(data: bytes) -> tuple[Refs, int | None]:
    """The globals ``scan`` reports (first offset of each), and the offset of
    its error (None: none). The global of an INST at that offset is left
    out: the scanner records it before it finds no MARK, as ``pickle.py``
    imports it before."""
    report = scan(data)
    assert len(report.errors) <= 1, report.errors
    error: int | None = None
    if report.errors:
        match = re.search(r"\(at offset (\d+)\)$", report.errors[0])
        assert match is not None, report.errors
        error = int(match.group(1))
    refs: Refs = {}
    for f in report.findings:
        if f.via in GLOBAL_VIAS and not (f.via == "INST" and f.offset == error):
            key = (f.module, f.name, f.via)
            refs[key] = min(refs.get(key, f.offset), f.offset)
    return refs, error


@contextmanager
def registered_extension() -> Iterator[None]:
    copyreg.add_extension(*EXT_KEY, EXT_CODE)
    try:
        yield
    finally:
        copyreg.remove_extension(*EXT_KEY, EXT_CODE)


def agree(data: bytes) -> None:
    """Both readers name the same globals and stop at the same offset."""
    with registered_extension():
        ours, theirs = scan_outcome(data), disasm_outcome(data)
    assert ours == theirs


def readable_as_a_plain_pickle(data: bytes) -> bool:
    """Whether ``scan`` reads ``data`` only as stacked pickles (no container,
    no compressed file, no joblib array wrapper)."""
    return (
        compression(data[:10]) is None
        and b"PK" not in data
        and not data.startswith(b"\x93NUMPY")
    )


@settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(pickles())
def test_disassembler_and_scanner_agree(data: bytes) -> None:
    assume(readable_as_a_plain_pickle(data))
    agree(data)


def test_agree_on_the_end_of_the_data() -> None:
    """Out of data where an opcode must be: both say where it is missing."""
    data = b"\x80\x04N"
    agree(data)
    assert disasm_outcome(data)[1] == scan_outcome(data)[1] == 3


def test_agree_on_python2_names() -> None:
    """A Python 2 string's bytes are one name to both: UTF-8, else latin-1."""
    for raw in ("caf\u00e9".encode(), "caf\u00e9".encode("latin-1")):
        data = b"U\x02osU" + _u8(len(raw)) + raw + b"\x93."
        agree(data)
        name = ("os", "caf\u00e9", "STACK_GLOBAL")
        assert disasm_outcome(data) == ({name: len(data) - 2}, None)
