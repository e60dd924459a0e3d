"""Disassemble pickles without building any object.

:func:`disassemble` walks the opcodes of one pickle and yields an
:class:`Instruction` for each: offset, opcode name, decoded argument and a
note (mark depth, memo slot, resolved global name). It follows a symbolic
stack of *names only* — strings the pickle pushed, memoized and fetched back —
so that every global a loader could reach is named, however the pickle spells
it (GLOBAL, STACK_GLOBAL from any string opcode, INST, OBJ, EXT codes).

Malformed input is reported as an :class:`~emulpickle.UnpicklingError` at the
offset where it breaks, after every instruction before it was yielded. Frames
follow the machine's rules: a single read may not straddle a frame's end.
"""

from __future__ import annotations

import codecs
import copyreg
import struct
import sys
from collections.abc import Iterator
from typing import Any

import attrs

from ._render import bounded_repr
from .errors import TruncatedError, UnpicklingError
from .machine import opcodes as _op

__all__ = ["GlobalRef", "Instruction", "disassemble", "format_instruction"]


@attrs.frozen
class GlobalRef:
    """A global a pickle names, and how.

    Attributes:
        module: module part (after nothing was mapped: as written).
        name: qualified name; None when the pickle computes it at load time.
        via: the opcode that reaches it: GLOBAL, STACK_GLOBAL, INST, EXT1/2/4.
        offset: byte offset of that opcode.
    """

    module: str | None
    name: str | None
    via: str
    offset: int

    @property
    def dynamic(self) -> bool:
        """Whether the name is built at load time and cannot be read statically."""
        return self.module is None or self.name is None

    def __str__(self) -> str:
        if self.dynamic:
            return f"<name computed at load time> ({self.via} at offset {self.offset})"
        return f"{self.module}.{self.name}"


@attrs.frozen
class Instruction:
    """One opcode of a pickle.

    Attributes:
        offset: byte offset of the opcode within the input.
        opcode: its name, e.g. ``"SHORT_BINUNICODE"``.
        arg: the decoded argument, or None.
        note: what the opcode means here (mark depth, memo slot, global).
        global_ref: the global it names, for GLOBAL/STACK_GLOBAL/INST/EXT.
    """

    offset: int
    opcode: str
    arg: Any = None
    note: str = ""
    global_ref: GlobalRef | None = None


# How the fixed-size and counted arguments are unpacked, by layout.
_FIXED = {_op.U1: (1, "<B"), _op.U2: (2, "<H"), _op.I4: (4, "<i"), _op.U4: (4, "<I"),
          _op.U8: (8, "<Q"), _op.F8: (8, ">d")}  # fmt: skip
_COUNTED = {_op.LEN1: (1, "<B"), _op.LEN4S: (4, "<i"), _op.LEN4: (4, "<I"),
            _op.LEN8: (8, "<Q")}  # fmt: skip


def _pops(info: _op.OpcodeInfo) -> int:
    return sum(1 for item in info.stack_before if item != "mark")


# Stack effects from the opcode table, as (items popped, items pushed), for the
# opcodes that do more than push one value; "mark" ones pop to the last MARK
# first. Opcodes with effects of their own (MARK, GET, PUT, globals...) are
# handled before these are consulted.
_MARK_POPPERS = {info.name for info in _op.OPCODES if "mark" in info.stack_before}
_EFFECTS: dict[str, tuple[int, int]] = {
    info.name: (_pops(info), len(info.stack_after))
    for info in _op.OPCODES
    if info.name in _MARK_POPPERS or (_pops(info), len(info.stack_after)) != (0, 1)
}

# Opcodes whose value a loader could use as a STACK_GLOBAL name.
_STRING_OPS = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE",
               "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"}  # fmt: skip

_UNKNOWN = object()  # a stack slot whose value is not a known string
_MARK = object()  # a MARK on the symbolic stack


class _Reader:
    """Bounds- and frame-checked reads from the pickle bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.frame_end = -1

    def take(self, start: int, pos: int, n: int, header: int) -> bytes:
        """Read ``n`` bytes at ``pos`` for the opcode at ``start``."""
        end = pos + n
        if self.frame_end >= 0 and end > self.frame_end:
            split = self.frame_end - start
            if split > 0 and split != 1 and split != header:
                raise UnpicklingError(
                    "pickle exhausted before end of frame", offset=start
                )
            self.frame_end = -1
        if end > len(self.data):
            raise TruncatedError("pickle data was truncated", offset=start)
        return self.data[pos:end]

    def line(self, start: int, pos: int) -> bytes:
        """Read a newline-terminated line at ``pos`` (newline excluded)."""
        limit = len(self.data)
        if self.frame_end >= 0:
            if pos < self.frame_end:
                limit = self.frame_end
            else:
                self.frame_end = -1
        i = self.data.find(b"\n", pos, limit)
        if i < 0:
            if limit < len(self.data):
                raise UnpicklingError(
                    "pickle exhausted before end of frame", offset=start
                )
            raise TruncatedError("pickle data was truncated", offset=start)
        return self.data[pos:i]


def disassemble(data: bytes, *, start: int = 0) -> Iterator[Instruction]:
    """Yield the instructions of the pickle starting at ``data[start]``.

    Stops after STOP. Raises :class:`~emulpickle.UnpicklingError` (after
    yielding everything before it) where the input is malformed.
    """
    data = bytes(data)
    reader = _Reader(data)
    pos = start
    stack: list[object] = []
    marks: list[int] = []
    memo: dict[int, object] = {}
    while True:
        op_start = pos
        if pos >= len(data):
            raise TruncatedError("pickle data was truncated", offset=pos)
        code = data[pos]
        known = _op.BY_CODE.get(code)
        if known is None:
            raise UnpicklingError(f"invalid load key, {bytes([code])!r}", offset=pos)
        name, layout = known.name, known.arg
        arg, pos = _read_arg(reader, name, layout, op_start)
        note = ""
        ref: GlobalRef | None = None
        try:
            note, ref = _apply(name, arg, op_start, stack, marks, memo, reader, pos)
        except IndexError:
            raise UnpicklingError(
                "unpickling stack underflow (missing MARK or operand)",
                offset=op_start,
                opcode=name,
            ) from None
        except UnpicklingError as exc:
            exc.locate(op_start, name)
            raise
        yield Instruction(op_start, name, arg, note, ref)
        if name == "STOP":
            return


def _read_arg(reader: _Reader, name: str, layout: int, start: int) -> tuple[Any, int]:
    pos = start + 1
    if layout == _op.NO_ARG:
        return None, pos
    fixed = _FIXED.get(layout)
    if fixed is not None:
        size, code = fixed
        raw = reader.take(start, pos, size, 1)
        return struct.unpack(code, raw)[0], pos + size
    counted = _COUNTED.get(layout)
    if counted is not None:
        size, code = counted
        n = struct.unpack(code, reader.take(start, pos, size, 1))[0]
        if n < 0:
            raise UnpicklingError(f"{name} has a negative byte count", offset=start)
        pos += size
        raw = reader.take(start, pos, n, 1 + size)
        return _decode_counted(name, raw, start), pos + n
    if layout == _op.LINE:
        raw = reader.line(start, pos)
        return _decode_line(name, raw, start), pos + len(raw) + 1
    # LINE2: GLOBAL / INST module and name lines
    first = reader.line(start, pos)
    pos += len(first) + 1
    second = reader.line(start, pos)
    encoding = "utf-8" if name == "GLOBAL" else "ascii"
    try:
        pair = (first.decode(encoding), second.decode(encoding))
    except UnicodeDecodeError:
        raise UnpicklingError(
            f"{name} names are not {encoding}", offset=start
        ) from None
    return pair, pos + len(second) + 1


def _decode_counted(name: str, raw: bytes, start: int) -> Any:
    if name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"):
        try:
            return raw.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise UnpicklingError(f"{name} is not valid UTF-8", offset=start) from None
    if name in ("LONG1", "LONG4"):
        return int.from_bytes(raw, "little", signed=True)
    if name == "BYTEARRAY8":
        return bytearray(raw)
    return raw  # bytes, and Python 2 strings (decoded only when loading)


def _decode_line(name: str, raw: bytes, start: int) -> Any:
    try:
        if name == "INT":
            if raw in (b"00", b"01"):
                return raw == b"01"
            return int(raw, 0)
        if name == "LONG":
            return int(raw[:-1] if raw.endswith(b"L") else raw, 0)
        if name == "FLOAT":
            return float(raw)
        if name in ("GET", "PUT"):
            index = int(raw)
            if index < 0:
                raise UnpicklingError(f"negative {name} argument", offset=start)
            if index > sys.maxsize:  # as CPython; huge ints would flood the memo
                raise UnpicklingError(
                    f"{name} index larger than sys.maxsize", offset=start
                )
            return index
        if name == "STRING":
            if len(raw) < 2 or raw[0] != raw[-1] or raw[0] not in b"\"'":
                raise UnpicklingError(
                    "the STRING opcode argument must be quoted", offset=start
                )
            return codecs.escape_decode(raw[1:-1])[0]
        if name == "UNICODE":
            return str(raw, "raw-unicode-escape")
        return raw.decode("ascii")  # PERSID
    except UnpicklingError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnpicklingError(f"bad {name} argument: {exc}", offset=start) from None


def _as_name(value: Any) -> object:
    """A string as a loader could see it (Python 2 strings: latin-1 at worst)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return _UNKNOWN


def _apply(
    name: str,
    arg: Any,
    start: int,
    stack: list[object],
    marks: list[int],
    memo: dict[int, object],
    reader: _Reader,
    pos: int,
) -> tuple[str, GlobalRef | None]:
    """Apply one instruction to the symbolic stack; return its note and global."""
    if name == "FRAME":
        if reader.frame_end >= 0 and pos < reader.frame_end:
            raise UnpicklingError(
                "beginning of a new frame before end of current frame"
            )
        if pos + arg > len(reader.data):
            raise TruncatedError("pickle data was truncated")
        reader.frame_end = pos + arg
        return f"frame of {arg} bytes", None
    if name == "PROTO":
        if arg > 5:
            raise UnpicklingError(f"unsupported pickle protocol: {arg}")
        return "", None
    if name == "MARK":
        marks.append(len(stack))
        stack.append(_MARK)
        return f"mark depth {len(marks)}", None
    if name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
        if not stack or stack[-1] is _MARK:
            raise IndexError
        index = len(memo) if name == "MEMOIZE" else arg
        memo[index] = stack[-1]
        return f"memo[{index}]", None
    if name in ("GET", "BINGET", "LONG_BINGET"):
        if arg not in memo:
            raise UnpicklingError(f"memo value not found at index {arg!r}")
        value = memo[arg]
        stack.append(value)
        shown = f" = {bounded_repr(value)}" if isinstance(value, str) else ""
        return f"memo[{arg}]{shown}", None
    if name == "DUP":
        if not stack or stack[-1] is _MARK:
            raise IndexError
        stack.append(stack[-1])
        return "", None
    if name in ("GLOBAL", "INST"):
        module, qualname = arg
        ref = GlobalRef(module, qualname, name, start)
        if name == "INST":
            _pop_mark(stack, marks)
        stack.append(_UNKNOWN)
        return f"global {module}.{qualname}", ref
    if name == "STACK_GLOBAL":
        qualname = _pop(stack)
        module = _pop(stack)
        ref = GlobalRef(
            module if isinstance(module, str) else None,
            qualname if isinstance(qualname, str) else None,
            name,
            start,
        )
        stack.append(_UNKNOWN)
        return f"global {ref}", ref
    if name in ("EXT1", "EXT2", "EXT4"):
        key = copyreg._inverted_registry.get(arg)  # type: ignore[attr-defined]
        stack.append(_UNKNOWN)
        if key:
            return f"extension {arg} = {key[0]}.{key[1]}", GlobalRef(
                key[0], key[1], name, start
            )
        return f"extension {arg} (not registered here)", GlobalRef(
            None, None, name, start
        )
    if name == "OBJ":
        _pop_mark(stack, marks, at_least=1)
        stack.append(_UNKNOWN)
        return "", None
    if name == "POP" and stack and stack[-1] is _MARK:
        _pop_mark(stack, marks)  # POP on an empty frame of the stack drops the MARK
        return "", None
    effect = _EFFECTS.get(name)
    if effect is None:  # an opcode that pushes one value
        stack.append(_as_name(arg) if name in _STRING_OPS else _UNKNOWN)
        return "", None
    pops, pushes = effect
    if name in _MARK_POPPERS:
        _pop_mark(stack, marks)
    for _ in range(pops):
        _pop(stack)
    for _ in range(pushes):
        stack.append(_UNKNOWN)
    return "", None


def _pop(stack: list[object]) -> object:
    value = stack.pop()
    if value is _MARK:
        raise IndexError
    return value


def _pop_mark(stack: list[object], marks: list[int], at_least: int = 0) -> None:
    if not marks:
        raise UnpicklingError("could not find MARK")
    where = marks.pop()
    if len(stack) - where - 1 < at_least:
        raise IndexError
    del stack[where:]


def format_instruction(ins: Instruction, *, width: int = 40) -> str:
    """One line of a listing: offset, opcode, argument, note."""
    # Bounded: an argument may be hundreds of megabytes (BINBYTES8), and a
    # LONG4 argument of a million digits has no repr at all.
    arg = "" if ins.arg is None else bounded_repr(ins.arg, max_chars=width)
    line = f"{ins.offset:>8}: {ins.opcode:<18} {arg:<{width}}"
    if ins.note:
        line += f"  # {ins.note}"
    return line.rstrip()
