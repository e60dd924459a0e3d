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

The input is read where it lies (an mmap of a file is never copied whole),
and an argument longer than :data:`MAX_ARG_BYTES` (an array's bytes, a
tensor's storage) is not read at all: the instruction holds a
:class:`Payload`, its size and first bytes. So a pickle of gigabytes is
listed in a few megabytes.
"""

from __future__ import annotations

import codecs
import copyreg
import mmap
import struct
import sys
from collections.abc import Iterator
from typing import Any

import attrs

from ._render import bounded_repr
from .errors import TruncatedError, UnpicklingError
from .machine import opcodes as _op
from .scanner.walk import LongText, as_name

__all__ = [
    "MAX_ARG_BYTES",
    "GlobalRef",
    "Instruction",
    "Payload",
    "disassemble",
    "format_instruction",
]

#: A counted argument (bytes, a string, a LONG4) longer than this many bytes
#: is not read into memory: the instruction's ``arg`` is a :class:`Payload`.
MAX_ARG_BYTES = 1 << 16
#: How many of a payload's first bytes its :class:`Payload` keeps.
_HEAD_BYTES = 64
#: How much of a long string is decoded at a time, to check it is UTF-8.
_CHECK_CHUNK = 1 << 20


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
class Payload:
    """A counted argument too long to read: its type, size and first bytes.

    Attributes:
        type: what the argument is: ``"bytes"``, ``"bytearray"``, ``"str"``
            (checked to be UTF-8 as a loader checks it), or ``"int"``
            (LONG4: ``head`` is empty).
        size: its length in bytes, in the pickle.
        head: its first bytes (for ``"str"``: the characters they decode
            to, whole characters only; a ``bytearray`` for ``"bytearray"``).
    """

    type: str
    size: int
    head: bytes | bytearray | str


@attrs.frozen
class Instruction:
    """One opcode of a pickle.

    Attributes:
        offset: byte offset of the opcode within the input.
        opcode: its name, e.g. ``"SHORT_BINUNICODE"``.
        arg: the decoded argument, or None; a :class:`Payload` for a
            counted argument longer than :data:`MAX_ARG_BYTES`.
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
_STRING_OPS = {
    info.name
    for info in _op.OPCODES
    if info.stack_after in (("str",), ("bytes_or_str",))
}

_UNKNOWN = object()  # a stack slot whose value is not a known string
_MARK = object()  # a MARK on the symbolic stack


class _Reader:
    """Bounds- and frame-checked reads from the pickle bytes (or mmap)."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.frame_end = -1

    def take(self, start: int, pos: int, n: int, header: int) -> bytes:
        """Read ``n`` bytes at ``pos`` for the opcode at ``start``."""
        self.skip(start, pos, n, header)
        return bytes(self.data[pos : pos + n])

    def skip(self, start: int, pos: int, n: int, header: int) -> None:
        """Check that ``n`` bytes at ``pos`` can be read, without reading them."""
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
        return bytes(self.data[pos:i])


def disassemble(data: Any, *, start: int = 0) -> Iterator[Instruction]:
    """Yield the instructions of the pickle starting at ``data[start]``.

    ``data`` is bytes, a bytearray, an mmap or another bytes-like object;
    it is read in place, never copied whole. Stops after STOP. Raises
    :class:`~emulpickle.UnpicklingError` (after yielding everything before
    it) where the input is malformed.
    """
    if not isinstance(data, (bytes, bytearray, mmap.mmap)):
        data = bytes(data)  # (a memoryview has no find)
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
        if n > MAX_ARG_BYTES:
            reader.skip(start, pos, n, 1 + size)
            return _payload(reader.data, name, pos, n, start), pos + n
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


def _payload(data: Any, name: str, pos: int, n: int, start: int) -> Payload:
    """The :class:`Payload` of the ``n``-byte argument at ``pos`` of ``data``."""
    if name in ("BINUNICODE", "BINUNICODE8"):
        return Payload("str", n, _check_utf8(data, name, pos, n, start))
    if name == "LONG4":
        return Payload("int", n, b"")
    head = bytes(data[pos : pos + _HEAD_BYTES])
    if name == "BYTEARRAY8":
        return Payload("bytearray", n, bytearray(head))
    return Payload("bytes", n, head)  # and Python 2 strings, as _decode_counted


def _check_utf8(data: Any, name: str, pos: int, n: int, start: int) -> str:
    """Check, a chunk at a time, that ``data[pos:pos+n]`` is UTF-8 (as loaders
    decode strings); returns the first characters."""
    decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")
    head = ""
    end = pos + n
    try:
        while pos < end:
            stop = min(end, pos + _CHECK_CHUNK)
            text = decoder.decode(data[pos:stop], final=stop == end)
            if not head:
                head = text[:_HEAD_BYTES]
            _release(data, pos, stop)
            pos = stop
    except UnicodeDecodeError:
        raise UnpicklingError(f"{name} is not valid UTF-8", offset=start) from None
    return head


def _release(data: Any, pos: int, stop: int) -> None:
    """Let go of the pages of an mmap that were read only to check them, so
    that the process does not keep a long string's pages resident."""
    madvise = getattr(data, "madvise", None)
    dontneed = getattr(mmap, "MADV_DONTNEED", None)
    if madvise is None or dontneed is None:
        return
    low = -(-pos // mmap.PAGESIZE) * mmap.PAGESIZE  # whole pages inside only
    high = stop // mmap.PAGESIZE * mmap.PAGESIZE
    if high > low:
        madvise(dontneed, low, high - low)


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


def _as_name(value: Any, reader: _Reader, pos: int) -> object:
    """A string as a loader could see it, decoded as the scanner decodes it
    (Python 2 strings: UTF-8, else latin-1), so that both name the same.

    A :class:`Payload` string (ending at ``pos``) is kept as a
    :class:`~emulpickle.scanner.walk.LongText`, read only if used as a name.
    """
    if isinstance(value, Payload):
        return LongText(reader.data, pos - value.size, value.size)
    name = as_name(value)
    return _UNKNOWN if name is None else name


def _name(value: object) -> str | None:
    """A value of the symbolic stack as a STACK_GLOBAL name, or None."""
    if isinstance(value, LongText):
        return as_name(value)
    return value if isinstance(value, str) else None


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
        ref = GlobalRef(_name(module), _name(qualname), name, start)
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
        stack.append(_as_name(arg, reader, pos) if name in _STRING_OPS else _UNKNOWN)
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
    """One line of a listing: offset, opcode, argument, note.

    An argument too long for ``width`` is cut, and its length noted.
    """
    # Bounded: an argument may be hundreds of megabytes (BINBYTES8), and a
    # LONG4 argument of a million digits has no repr at all.
    value = ins.arg
    size = ""
    if isinstance(value, Payload):
        size = f"{value.size:,} bytes"
        value = value.head if value.type != "int" else None
    elif isinstance(value, (bytes, bytearray)):
        size = f"{len(value):,} bytes"
    elif isinstance(value, str):
        size = f"{len(value):,} characters"
    arg = "" if value is None else bounded_repr(value, max_chars=width)
    if isinstance(ins.arg, Payload):
        arg = arg if arg.endswith("...") else f"{arg}..."
        if value is None:
            arg = "<int>"
    elif not arg.endswith("..."):
        size = ""  # shown whole
    notes = ", ".join(note for note in (size, ins.note) if note)
    line = f"{ins.offset:>8}: {ins.opcode:<18} {arg:<{width}}"
    if notes:
        line += f"  # {notes}"
    return line.rstrip()
