"""The scanner's opcode walker: every global one pickle names, nothing built.

:func:`walk` follows a symbolic stack that holds only the strings a
STACK_GLOBAL could use as names (everything else is ``None``), with the
loader's mark, memo and underflow rules, and the machine's frame rules: no
single read may straddle the end of a frame (an opcode may end exactly at it,
or the frame may end right after the opcode byte or after a length prefix),
a FRAME may not start before the current frame ends, and a frame must fit in
the data. So a pickle that emulpickle refuses for its framing is an error
here too, at the same offset, and one it accepts is walked the same way.

The stack also follows, as cheaply as it can, what a BUILD could pour into
an object: dicts the pickle builds (EMPTY_DICT, DICT, SETITEM(S)) are
numbered (see :class:`Dicts`, which notes any key naming an
emulation-protocol method or a dunder), pairs holding them are
:class:`Pair` values (a BUILD state and slot state), and whatever a call
made (REDUCE, NEWOBJ(_EX), INST, OBJ) is :data:`MADE`. At each BUILD,
:meth:`Dicts.check_state` records a state that sets such a name, or whose
names cannot be known without running the calls (a state, or a key of it,
made at load time).

This module is compiled with mypyc along with the opcode machine (see
``setup.py`` and the compiled-or-pure selection), so it stays plain typed
Python; opcodes are the ``Final`` constants of
:mod:`emulpickle.machine.opcodes`, which mypyc folds into literals. The walk
itself reads ``bytes``, which compiled code indexes natively.
"""

# Opcodes are compared with chains of ==: compiled by mypyc, each is a C
# integer compare on a folded Final constant (no tuple, no containment).
# ruff: noqa: SIM109

from __future__ import annotations

import codecs
import struct
import sys
from typing import Any, Final

from ..machine.opcodes import (
    ADDITEMS,
    APPEND,
    APPENDS,
    ARG_SIZES,
    BINFLOAT,
    BINGET,
    BININT,
    BININT1,
    BININT2,
    BINPERSID,
    BINPUT,
    BINSTRING,
    BINUNICODE,
    BUILD,
    BY_CODE,
    DICT,
    DUP,
    EMPTY_DICT,
    EMPTY_LIST,
    EMPTY_SET,
    EMPTY_TUPLE,
    EXT1,
    EXT2,
    EXT4,
    FLOAT,
    FRAME,
    FROZENSET,
    GET,
    GLOBAL,
    INST,
    INT,
    LEN1,
    LEN4,
    LEN4S,
    LEN8,
    LIST,
    LONG,
    LONG1,
    LONG4,
    LONG_BINGET,
    LONG_BINPUT,
    MARK,
    MEMOIZE,
    NEWFALSE,
    NEWOBJ,
    NEWOBJ_EX,
    NEWTRUE,
    NEXT_BUFFER,
    NONE,
    OBJ,
    OPCODES,
    PERSID,
    POP,
    POP_MARK,
    PROTO,
    PUT,
    READONLY_BUFFER,
    REDUCE,
    SETITEM,
    SETITEMS,
    SHORT_BINBYTES,
    SHORT_BINSTRING,
    SHORT_BINUNICODE,
    STACK_GLOBAL,
    STOP,
    STRING,
    TUPLE,
    TUPLE1,
    TUPLE2,
    TUPLE3,
    UNICODE,
)
from ..protocols import PROTOCOL_METHODS

#: Distinct globals one pickle may name before the walk gives up.
_MAX_FINDINGS_PER_PICKLE = 10_000

#: The global joblib writes in place of each numpy array; joblib's loader
#: reads the array from the stream right after the BUILD that fills it in.
JOBLIB_WRAPPER = "joblib.numpy_pickle.NumpyArrayWrapper"

RefKey = tuple[str | None, str | None, str, bool]
Refs = dict[RefKey, list[int]]


class Broken(Exception):
    """The walk cannot go on: ``reason`` at byte ``offset``.

    When the data ran out, ``needed`` is where the data would have to reach
    for the walk to go on (past the end it was given), else -1.
    """

    def __init__(self, reason: str, offset: int, needed: int = -1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset
        self.needed = needed


def truncated(start: int, needed: int) -> Broken:
    """The opcode at ``start`` needs the data up to ``needed``, which ends before."""
    return Broken("pickle data was truncated", start, needed)


def _table(entries: dict[int, int], default: int = 0) -> bytes:
    """A table indexed by opcode: ``entries[op]``, else ``default``."""
    return bytes([entries.get(op, default) for op in range(256)])


def _width(op: int) -> int:
    """The total length of an opcode whose argument has a fixed size."""
    return 1 + ARG_SIZES[BY_CODE[op].arg]


def _pops(op: int) -> int:
    """How many values an opcode pops (none of them a MARK)."""
    return len(BY_CODE[op].stack_before)


# Opcodes that push one value that is never a name: their total length.
# (EMPTY_DICT pushes a dict number instead: see Dicts.)
_PUSH_WIDTHS: Final = _table({
    op: _width(op)
    for op in (NONE, NEWTRUE, NEWFALSE, EMPTY_LIST, EMPTY_TUPLE, EMPTY_SET,
               NEXT_BUFFER, BININT, BININT1, BININT2, BINFLOAT)
})  # fmt: skip
#: Opcodes that pop a fixed number of values (no MARK), then push one: how
#: many they pop.
FIXED_POPS: Final[dict[int, int]] = {
    op: _pops(op)
    for op in (APPEND, SETITEM, BUILD, TUPLE1, TUPLE2, TUPLE3, REDUCE, NEWOBJ,
               NEWOBJ_EX, BINPERSID, READONLY_BUFFER)
}  # fmt: skip
# What those push besides None: the target of SETITEM, APPEND or BUILD
# (which they change), a Pair (TUPLE2), or MADE (a call's result).
_POP_NONE: Final = 0
_POP_SETITEM: Final = 1
_POP_BUILD: Final = 2
_POP_PAIR: Final = 3
_POP_MADE: Final = 4
_POP_APPEND: Final = 5
_POPS: Final = _table(FIXED_POPS)
_POP_KINDS: Final = _table({
    SETITEM: _POP_SETITEM, APPEND: _POP_APPEND, BUILD: _POP_BUILD,
    TUPLE2: _POP_PAIR, REDUCE: _POP_MADE, NEWOBJ: _POP_MADE, NEWOBJ_EX: _POP_MADE,
})  # fmt: skip
# Opcodes that pop to the topmost MARK, then: _INTO change the value below
# (which must be there), _NEW push a new value, _NOTHING do nothing; and
# SETITEMS, DICT and TUPLE, whose items the walker looks at.
_INTO: Final = 1
_SETITEMS: Final = 2
_NEW: Final = 3
_NOTHING: Final = 4
_DICT: Final = 5
_TUPLE: Final = 6
#: Opcodes that pop to the topmost MARK: what they do then (see above).
MARK_POPPERS: Final[dict[int, int]] = {
    APPENDS: _INTO, SETITEMS: _SETITEMS, ADDITEMS: _INTO, LIST: _NEW,
    TUPLE: _TUPLE, DICT: _DICT, FROZENSET: _NEW, POP_MARK: _NOTHING,
}  # fmt: skip
_MARK_POPS: Final = _table(MARK_POPPERS)
# Counted opcodes (a length prefix, then that many bytes): the prefix's size,
# and whether the payload can be a name (a string, not bytes or an int).
COUNTED: Final[dict[int, tuple[int, bool]]] = {
    info.code: (ARG_SIZES[info.arg], info.stack_after[0] in ("str", "bytes_or_str"))
    for info in OPCODES
    if info.arg in (LEN1, LEN4S, LEN4, LEN8)
}
# Where each opcode's length prefix ends (1: it has none).
_HEADERS: Final = _table({op: 1 + size for op, (size, _) in COUNTED.items()}, 1)
# Line opcodes that push a value that is never a name.
LINE_PUSH: Final = frozenset({INT, LONG, FLOAT, PERSID})
# EXT opcodes: the size of their code, and how it is unpacked.
EXT_SIZES: Final = {EXT1: (1, "<B"), EXT2: (2, "<H"), EXT4: (4, "<i")}
# A name's first bytes, told without decoding it: "_" and "p", "y".
_UNDERSCORE: Final = 0x5F
_LOWER_P: Final = 0x70
_LOWER_Y: Final = 0x79

#: ``via`` of what :meth:`Dicts.check_state` records: ``name`` is the planted
#: key, or None when the state's names cannot be known statically.
BUILD_VIA: Final = "BUILD"


class Dicts:
    """The dicts one pickle builds, as far as a BUILD state matters.

    On the walker's stack a dict the pickle built is its number here, an
    int (the walker pushes no other int): numbering them costs no object
    the garbage collector tracks, where an object per dict made the walk of
    a pickle of many small dicts half again as slow. ``planted`` maps a
    dict's number to its first key naming a protocol method or a dunder;
    ``computed`` holds the dicts with a key made at load time (by a call).
    """

    __slots__ = ("computed", "count", "planted")

    def __init__(self) -> None:
        self.count = 0
        self.planted: dict[int, str] = {}
        self.computed: set[int] = set()

    def new(self) -> int:
        """A new dict's number."""
        self.count += 1
        return self.count

    def add_key(self, number: int, key: object) -> None:
        """``key`` goes into dict ``number``: note what a BUILD would make of it."""
        if isinstance(key, bytes):
            # Most keys are bytes (the walker's strings): most are told at once.
            if len(key) >= 5 and (key[0] == _UNDERSCORE or key[0] == _LOWER_P):
                name = planted_name(key)
                if name is not None and number not in self.planted:
                    self.planted[number] = name
        elif key is MADE:
            self.computed.add(number)
        elif isinstance(key, (str, LongText)):
            name = planted_name(key)
            if name is not None and number not in self.planted:
                self.planted[number] = name

    def check_state(self, refs: Refs, state: object, offset: int) -> None:
        """Record what the BUILD at ``offset`` with ``state`` plants or hides.

        A dict state (or the dict half of a (state, slot state) pair) with a
        protocol-method or dunder key records that key; a state made by a
        call, or a dict with a key made by one, records a None name: its
        keys are known only at load time.
        """
        if isinstance(state, Pair):  # its items are never pairs (see pair)
            self._check(refs, state.first, offset)
            self._check(refs, state.second, offset)
        else:
            self._check(refs, state, offset)

    def _check(self, refs: Refs, state: object, offset: int) -> None:
        if isinstance(state, int):
            name = self.planted.get(state)
            if name is not None:
                record(refs, None, name, BUILD_VIA, False, offset)
            if state in self.computed:
                record(refs, None, None, BUILD_VIA, False, offset)
        elif state is MADE:
            record(refs, None, None, BUILD_VIA, False, offset)


class Pair:
    """A 2-tuple holding a dict or a made object: maybe (state, slot state)."""

    __slots__ = ("first", "second")

    def __init__(self, first: object, second: object) -> None:
        self.first = first
        self.second = second


class Made:
    """The type of :data:`MADE` and :data:`NONE_VALUE`: a marker."""

    __slots__ = ()


#: An object a call made at load time (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ):
#: what it holds is unknown, so it may be a dict with any keys.
MADE: Final = Made()
#: The value NONE pushes (other values the walker does not follow are None).
NONE_VALUE: Final = Made()

#: A string payload longer than this is not copied when the walk meets it:
#: it is pushed as a :class:`LongText`, read only if used as a name.
LONG_TEXT: Final = 1 << 16


class LongText:
    """A string the pickle pushed that is too long to copy while walking.

    Where it lies in the data the walk was given: ``length`` bytes at
    ``offset`` of ``source``. Almost every such string is data (a text, a
    document), never a name: it is read only when a STACK_GLOBAL uses it as
    one, or when it is a dict key that starts and ends like a dunder name.
    """

    __slots__ = ("length", "offset", "source")

    def __init__(self, source: Any, offset: int, length: int) -> None:
        self.source = source
        self.offset = offset
        self.length = length

    def read(self) -> bytes:
        """The string's bytes."""
        return bytes(self.source[self.offset : self.offset + self.length])

    def planted(self) -> str | None:
        """:func:`planted_name` of the string, reading it only when it can be one.

        It is longer than any protocol method name, so it is one only as a
        dunder; decoded as :func:`as_name` decodes it, a name starts and
        ends with ``__`` exactly when its bytes do (in UTF-8 as in latin-1,
        an ASCII character is its own single byte).
        """
        stop = self.offset + self.length
        if (
            self.length < 5
            or bytes(self.source[self.offset : self.offset + 2]) != b"__"
            or bytes(self.source[stop - 2 : stop]) != b"__"
        ):
            return None
        return planted_name(self.read())


def planted_name(key: object) -> str | None:
    """``key`` when it names a protocol method or a dunder (``__x__``), else None."""
    if isinstance(key, LongText):
        return key.planted()
    # Most keys are neither: tell at once, without decoding.
    if isinstance(key, bytes) and (
        len(key) < 5
        or not (
            key[0] == key[1] == _UNDERSCORE
            or (key[0] == _LOWER_P and key[1] == _LOWER_Y)
        )
    ):
        return None
    name = as_name(key)
    if name is None:
        return None
    if name in PROTOCOL_METHODS:
        return name
    if len(name) >= 5 and name.startswith("__") and name.endswith("__"):
        return name
    return None


def pair(first: object, second: object) -> object:
    """The value of a 2-tuple: a :class:`Pair` when it may be a BUILD state.

    That is: it holds a dict the pickle built (an int, see :class:`Dicts`),
    or it has the shape of a (state, slot state) pair, a made object next to
    None. A pair of made objects is the state a ``__setstate__`` takes
    (pandas' arrays, say), which no loader pours into ``__dict__``: that is
    left alone.
    """
    if isinstance(first, int) or isinstance(second, int):
        return Pair(first, second)
    if (first is MADE and second is NONE_VALUE) or (
        first is NONE_VALUE and second is MADE
    ):
        return Pair(first, second)
    return None


def as_name(value: object) -> str | None:
    """``value`` as a STACK_GLOBAL name would decode it, or None."""
    if isinstance(value, str):
        return value
    if isinstance(value, LongText):
        value = value.read()
    if isinstance(value, (bytes, bytearray)):  # inflated data is a bytearray
        try:
            return value.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    return None


def names_wrapper(refs: Refs) -> bool:
    """Whether the globals in ``refs`` include joblib's array wrapper."""
    return any(
        module is not None and name is not None and f"{module}.{name}" == JOBLIB_WRAPPER
        for module, name, _, _ in refs
    )


def cross(start: int, pos: int, frame_end: int, end: int, header: int) -> None:
    """Check an opcode at ``start`` reading up to ``pos``, past the frame or data end.

    Inside a frame the frame may end only after the opcode byte or after its
    ``header`` (opcode and length prefix), as the machine allows.
    """
    split = frame_end - start
    if split > 1 and split != header:
        raise Broken("pickle exhausted before end of frame", start)
    if pos > end:
        raise truncated(start, pos)


def line_end(data: Any, pos: int, end: int, start: int, frame_end: int) -> int:
    """The offset after the line at ``pos``; inside a frame, within it."""
    i: int = data.find(b"\n", pos, end)
    if i < 0 and len(data) < end:
        # A window of the data (see walk): the line may go on past it.
        raise IndexError("the line runs past the window")
    if frame_end > pos and not 0 <= i < frame_end:
        raise Broken("pickle exhausted before end of frame", start)
    if i < 0:
        raise truncated(start, end + 1)
    return i + 1


def line(
    data: Any, pos: int, end: int, start: int, frame_end: int
) -> tuple[bytes, int]:
    """The line at ``pos`` and the offset after it; inside a frame, within it."""
    after = line_end(data, pos, end, start, frame_end)
    return data[pos : after - 1], after


def uint(data: bytes, i: int, size: int) -> int:
    """The little-endian unsigned integer in ``data[i : i + size]`` (size 1, 4, 8)."""
    if size == 1:
        return data[i]
    n = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
    if size == 8:
        n |= uint(data, i + 4, 4) << 32
    return n


def counted(data: Any, pos: int, end: int, frame_end: int, op: int) -> int:
    """The offset after the counted opcode at ``pos`` (its payload ends there)."""
    header = _HEADERS[op]
    size = header - 1
    header += pos
    if header > (frame_end if frame_end >= 0 else end):
        cross(pos, header, frame_end, end, 1)
        frame_end = -1
    if isinstance(data, bytes):
        n = uint(data, pos + 1, size)
    else:
        n = uint(bytes(data[pos + 1 : header]), 0, size)
    if n >> 31 and (op == BINSTRING or op == LONG4):  # BINSTRING, LONG4: signed
        raise Broken("negative byte count", pos)
    after = header + n
    if after > (frame_end if frame_end >= 0 else end):
        cross(pos, after, frame_end, end, size + 1)
    return after


def memo_get(
    memo: list[object], sparse: dict[int, object] | None, index: int, start: int
) -> object:
    """The memo entry at ``index``."""
    if sparse is None:
        if index < len(memo):
            return memo[index]
    elif index in sparse:
        return sparse[index]
    raise Broken(f"memo value not found at index {index}", start)


def memo_put(
    memo: list[object], sparse: dict[int, object] | None, index: int, value: object
) -> dict[int, object] | None:
    """Store ``value`` at ``index``; returns the sparse memo once there is one."""
    if sparse is None:
        if index < len(memo):
            memo[index] = value
            return None
        if index == len(memo):
            memo.append(value)
            return None
        sparse = dict(enumerate(memo))
        memo.clear()
    sparse[index] = value
    return sparse


def record(
    refs: Refs,
    module: str | None,
    name: str | None,
    via: str,
    python2: bool,
    offset: int,
) -> None:
    """Count one reference to ``module.name``."""
    key = (module, name, via, python2)
    seen = refs.get(key)
    if seen is None:
        if len(refs) >= _MAX_FINDINGS_PER_PICKLE:
            raise Broken("too many distinct globals", offset)
        refs[key] = [offset, 1]
    else:
        seen[1] += 1


def text_index(raw: bytes, start: int) -> int:
    """A protocol 0 memo index."""
    try:
        index = int(raw)
    except ValueError:
        raise Broken(f"bad memo index {raw!r}", start) from None
    if index < 0:
        raise Broken("negative memo index", start)
    if index > sys.maxsize:  # refused by CPython; would flood the sparse memo
        raise Broken("memo index larger than sys.maxsize", start)
    return index


def ext_key(code: int) -> tuple[str | None, str | None]:
    """What copyreg's extension registry maps ``code`` to in this process."""
    import copyreg

    key = copyreg._inverted_registry.get(code)  # type: ignore[attr-defined]
    return (str(key[0]), str(key[1])) if key else (None, None)


def string_value(raw: bytes) -> bytes | None:
    """The value of a protocol 0 STRING line, or None when it is malformed."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[:1] in (b"'", b'"'):
        try:
            return bytes(codecs.escape_decode(raw[1:-1])[0])
        except ValueError:
            return None
    return None


def unicode_value(raw: bytes) -> str | None:
    """The value of a protocol 0 UNICODE line, or None when it is malformed."""
    try:
        return codecs.raw_unicode_escape_decode(raw)[0]
    except UnicodeDecodeError:
        return None


#: How much of a buffer that is not bytes :func:`walk` copies at first: a
#: walk over raw data that is no pickle (an array, a tensor's storage)
#: mostly breaks within it.
_FIRST_COPY = 1 << 12
#: The most :func:`walk` copies of such a buffer at a time (a longer copy is
#: made only for one opcode that needs it: a line, a string under
#: :data:`LONG_TEXT`).
_MAX_COPY = 1 << 22


class WalkState:
    """Where a walk over windows of a buffer stands between two windows.

    What :func:`_walk` keeps in locals while it runs, saved when it stops
    at an opcode its window does not hold whole, and taken up again over
    the next window (which starts at that opcode). ``base`` is where the
    current window starts in ``source``; ``frame_end`` is counted from the
    start of ``source`` (-1 outside a frame).
    """

    __slots__ = (
        "base",
        "dicts",
        "frame_end",
        "marks",
        "memo",
        "proto",
        "source",
        "sparse",
        "stack",
    )

    def __init__(self, source: Any, base: int) -> None:
        self.source = source
        self.base = base
        self.stack: list[object] = []
        self.marks: list[int] = []
        self.memo: list[object] = []
        self.sparse: dict[int, object] | None = None
        self.proto = 0
        self.frame_end = -1
        self.dicts = Dicts()


def walk(data: Any, pos: int, end: int, refs: Refs, nested: bool = False) -> int:
    """Walk one pickle in ``data[pos:end]``, recording globals into ``refs``.

    ``refs`` maps ``(module, name, via, python2)`` to ``[first offset,
    count]``. Returns the offset after STOP; raises :class:`Broken`. A
    ``nested`` pickle (joblib's object arrays) may not stop inside a frame,
    since pickle's Python unpickler would then resume after the frame.

    ``data`` is bytes or any other buffer (an mmap, a bytearray); the walk
    itself runs over bytes, which compiled it reads fastest.
    """
    if isinstance(data, bytes):
        after = _walk(data, pos, end, refs, nested, WalkState(data, 0))
        if after < 0:  # stopped: only when end is past the data
            raise truncated(-after - 1, end + 1)
        return after
    return _walk_windows(data, pos, end, refs, nested)


def _walk_windows(data: Any, pos: int, end: int, refs: Refs, nested: bool) -> int:
    """:func:`walk` over bytes copies of windows of ``data[pos:end]``.

    The first window is ``_FIRST_COPY`` bytes; each next one starts at the
    opcode the walk stopped at, twice as long up to ``_MAX_COPY`` (longer
    only when that one opcode needs it). A payload the walk does not read
    (bytes, an array's data, a string of :data:`LONG_TEXT` or more) is
    skipped over, never copied: a pickle holding gigabytes is walked in a
    few megabytes. Its outcome cannot differ from a walk over ``data``
    copied whole: the walk stops only at an opcode boundary, before the
    opcode changed anything that depends on bytes past its window, and
    takes up again from there with the same state.
    """
    state = WalkState(data, pos)
    size = _FIRST_COPY
    while True:
        base = state.base
        window = bytes(data[base : min(end, base + size)])
        try:
            after = _walk(window, 0, end - base, refs, nested, state)
        except Broken as exc:
            needed = exc.needed + base if exc.needed >= 0 else -1
            raise Broken(exc.reason, exc.offset + base, needed) from None
        if after >= 0:
            return base + after
        stopped = -after - 1  # where the walk stopped, in the window
        if stopped:
            size = max(size, min(2 * size, _MAX_COPY))
        else:  # not one opcode in the window: it needs a longer one
            size *= 2
        state.base = base + stopped


def _walk(
    data: bytes, pos: int, end: int, refs: Refs, nested: bool, state: WalkState
) -> int:
    """:func:`walk` over bytes, from where ``state`` stands.

    ``data`` may be a window of the data (shorter than ``end``; see
    :func:`_walk_windows`): then the walk stops at the first opcode the
    window does not hold whole, before that opcode changes anything, saves
    its state and returns ``-1 - offset`` of that opcode. Offsets of the
    globals recorded count from ``state.base``.
    """
    stack = state.stack
    marks = state.marks
    fence = marks[-1] if marks else 0  # the stack's length at the topmost MARK
    memo = state.memo
    sparse = state.sparse
    proto = state.proto
    base = state.base
    frame_end = state.frame_end - base if state.frame_end >= 0 else -1
    limit = frame_end if frame_end >= 0 else end  # frame_end inside a frame
    size = len(data)
    start = pos
    op = 0
    n = 0
    value: object = None
    dicts = state.dicts
    widths = _PUSH_WIDTHS
    pops = _POPS
    pop_kinds = _POP_KINDS
    mark_pops = _MARK_POPS
    # The opcodes most pickles are made of are tested first. A fixed-size or
    # 1-byte counted opcode that reads past the limit is caught on the next
    # turn (a read past the data raises IndexError first).
    try:
        while True:
            if pos >= limit:
                if pos > limit:
                    # Checked here, after the fact: the opcode at start (a
                    # fixed-size or short counted one) read past the limit.
                    cross(start, pos, frame_end, end, _HEADERS[data[start]])
                if pos >= end:  # no opcode where one must be, as the loader says
                    raise truncated(pos, pos + 1)
                frame_end = -1  # the current frame is used up
                limit = end
            start = pos
            op = data[pos]
            if op == MEMOIZE:
                if len(stack) <= fence:
                    raise Broken("stack underflow", start)
                if sparse is None:
                    memo.append(stack[-1])
                else:
                    sparse[len(sparse)] = stack[-1]
                pos += 1
                continue
            if op == BINGET:
                pos += 2
                if pos > limit:
                    cross(start, pos, frame_end, end, 1)
                    frame_end, limit = -1, end
                n = data[pos - 1]
                if sparse is None and n < len(memo):
                    stack.append(memo[n])
                else:
                    stack.append(memo_get(memo, sparse, n, start))
                continue
            if (
                op == SHORT_BINUNICODE
                or op == SHORT_BINSTRING
                or op == SHORT_BINBYTES
                or op == LONG1
            ):  # 1-byte count
                n = data[pos + 1]
                pos += 2 + n
                # SHORT_BINUNICODE, SHORT_BINSTRING: maybe a name
                if op == SHORT_BINUNICODE or op == SHORT_BINSTRING:
                    if pos > size and size < end:
                        raise IndexError  # past the window: take it whole
                    stack.append(data[pos - n : pos])
                else:
                    stack.append(None)
                continue
            if op == EMPTY_DICT:
                dicts.count += 1
                stack.append(dicts.count)
                pos += 1
                continue
            n = widths[op]
            if n:
                stack.append(NONE_VALUE if op == NONE else None)
                pos += n
                continue
            if op == MARK:
                fence = len(stack)
                marks.append(fence)
                pos += 1
                continue
            n = mark_pops[op]
            if n:
                if not marks:
                    raise Broken("could not find MARK", start)
                k = marks.pop()
                fence = marks[-1] if marks else 0
                value = None
                if n == _SETITEMS or n >= _DICT:
                    value = _mark_value(stack, k, fence, n, dicts)
                del stack[k:]
                if n <= _SETITEMS:  # APPENDS, ADDITEMS, SETITEMS: into the value below
                    if len(stack) <= fence:
                        raise Broken("stack underflow", start)
                    value = stack[-1]
                    if not (value is MADE or isinstance(value, int)):
                        stack[-1] = None
                elif n != _NOTHING:
                    stack.append(value)
                pos += 1
                continue
            n = pops[op]
            if n:
                if len(stack) - fence < n:
                    raise Broken("stack underflow", start)
                kind = pop_kinds[op]
                if kind == _POP_NONE:
                    del stack[len(stack) - n :]
                    stack.append(None)
                elif kind == _POP_MADE:
                    del stack[len(stack) - n :]
                    stack.append(MADE)
                elif kind == _POP_PAIR:
                    value = pair(stack[-2], stack[-1])
                    del stack[-2:]
                    stack.append(value)
                else:  # SETITEM, APPEND, BUILD: the target stays, changed
                    if kind == _POP_BUILD:
                        dicts.check_state(refs, stack[-1], start + base)
                        del stack[-1]
                    elif kind == _POP_APPEND:
                        del stack[-1]
                    else:
                        value = stack[-3]
                        if isinstance(value, int):
                            dicts.add_key(value, stack[-2])
                        del stack[-2:]
                    value = stack[-1]
                    if not (value is MADE or isinstance(value, int)):
                        stack[-1] = None
                pos += 1
                continue
            if (
                op == BINPUT
                or op == LONG_BINPUT
                or op == LONG_BINGET
                or op == GET
                or op == PUT
            ):
                # BINPUT, LONG_BINPUT, LONG_BINGET; GET, PUT (protocol 0)
                if op == GET or op == PUT:
                    pos = line_end(data, pos + 1, end, start, frame_end)
                    n = text_index(data[start + 1 : pos - 1], start)
                else:
                    pos += 2 if op == BINPUT else 5
                    if pos > limit:
                        cross(start, pos, frame_end, end, 1)
                    n = data[pos - 1] if op == BINPUT else uint(data, start + 1, 4)
                if pos > limit:
                    frame_end, limit = -1, end
                if op == LONG_BINGET or op == GET:
                    stack.append(memo_get(memo, sparse, n, start))
                    continue
                if len(stack) <= fence:
                    raise Broken("stack underflow", start)
                sparse = memo_put(memo, sparse, n, stack[-1])
                continue
            if op == BINUNICODE:
                pos = counted(data, pos, end, frame_end, op)
                stack.append(text(data, start + 5, pos, state))
                if pos > limit:
                    frame_end, limit = -1, end
                continue
            if op == FRAME:
                pos += 9
                if pos > limit:
                    cross(start, pos, frame_end, end, 1)
                elif frame_end > pos:
                    raise Broken(
                        "beginning of a new frame before end of current frame", start
                    )
                n = struct.unpack("<Q", data[start + 1 : pos])[0]
                if n > end - pos:
                    raise truncated(start, pos + n)
                frame_end = limit = pos + n
                continue
            if op == PROTO:
                pos += 2
                if pos > limit:
                    cross(start, pos, frame_end, end, 1)
                    frame_end, limit = -1, end
                proto = data[start + 1]
                if proto > 5:
                    raise Broken(f"unsupported pickle protocol: {proto}", start)
                continue
            if op == STACK_GLOBAL:
                if len(stack) - fence < 2:
                    raise Broken("stack underflow", start)
                name = as_name(stack.pop())
                module = as_name(stack.pop())
                record(refs, module, name, "STACK_GLOBAL", proto < 3, start + base)
                stack.append(None)
                pos += 1
                continue
            if op == STOP:
                if len(stack) <= fence:
                    raise Broken("stack underflow", start)
                if nested and frame_end > pos + 1:
                    raise Broken("the pickle stops inside a frame", start)
                return pos + 1
            pos = _walk_rare(
                data, pos, end, frame_end, op, stack, marks, refs, proto, state
            )
            if pos > limit:
                frame_end, limit = -1, end
            fence = marks[-1] if marks else 0
    except (IndexError, struct.error):
        if size < end:  # the opcode at start runs past the window
            state.sparse = sparse
            state.proto = proto
            state.frame_end = frame_end + base if frame_end >= 0 else -1
            return -1 - start
        raise truncated(start, end + 1) from None


def text(data: bytes, pos: int, after: int, state: WalkState) -> object:
    """The string payload in ``data[pos:after]``, as the walker pushes it:
    its bytes, or a :class:`LongText` when it is long.

    Raises IndexError when a window of the data ends before it (see
    :func:`_walk`).
    """
    if after - pos >= LONG_TEXT:
        return LongText(state.source, state.base + pos, after - pos)
    if after > len(data):
        raise IndexError("the string runs past the window")
    return data[pos:after]


def _mark_value(
    stack: list[object], k: int, fence: int, kind: int, dicts: Dicts
) -> object:
    """SETITEMS, DICT, TUPLE with the items ``stack[k:]``: note the keys going
    into a dict; the value DICT or TUPLE pushes."""
    if kind == _TUPLE:
        return pair(stack[k], stack[k + 1]) if len(stack) - k == 2 else None
    target: object = None
    if kind == _DICT:
        target = dicts.new()
    elif k > fence:  # SETITEMS: into the value below the MARK
        target = stack[k - 1]
    if isinstance(target, int):
        for i in range(k, len(stack) - 1, 2):
            key = stack[i]
            if isinstance(key, bytes):  # told at once, as add_key does
                if len(key) >= 5 and (key[0] == _UNDERSCORE or key[0] == _LOWER_P):
                    dicts.add_key(target, key)
            elif key is not None:  # (no int, float, list... can be a name)
                dicts.add_key(target, key)
    return target


def _walk_rare(
    data: bytes,
    pos: int,
    end: int,
    frame_end: int,
    op: int,
    stack: list[object],
    marks: list[int],
    refs: Refs,
    proto: int,
    state: WalkState,
) -> int:
    """The less frequent opcodes; returns the next position."""
    start = pos
    fence = marks[-1] if marks else 0
    counts = COUNTED.get(op)
    if counts is not None:  # 4- and 8-byte counted
        pos = counted(data, pos, end, frame_end, op)
        n = pos - start - 1 - counts[0]
        stack.append(text(data, pos - n, pos, state) if counts[1] else None)
        return pos
    if op in LINE_PUSH:
        pos = line_end(data, pos + 1, end, start, frame_end)
        stack.append(None)
        return pos
    if op == STRING or op == UNICODE:
        pos = line_end(data, pos + 1, end, start, frame_end)
        raw = data[start + 1 : pos - 1]
        stack.append(string_value(raw) if op == STRING else unicode_value(raw))
        return pos
    if op == GLOBAL or op == INST:
        first, pos = line(data, pos + 1, end, start, frame_end)
        second, pos = line(data, pos, end, start, frame_end)
        module = first.decode("utf-8", "surrogateescape")
        name = second.decode("utf-8", "surrogateescape")
        via = "GLOBAL" if op == GLOBAL else "INST"
        record(refs, module, name, via, proto < 3, start + state.base)
        if op == INST:
            if not marks:
                raise Broken("could not find MARK", start)
            del stack[marks.pop() :]
            stack.append(MADE)
        else:
            stack.append(None)
        return pos
    ext = EXT_SIZES.get(op)
    if ext is not None:  # EXT1, EXT2, EXT4
        size, fmt = ext
        pos += 1 + size
        if pos > (frame_end if frame_end >= 0 else end):
            cross(start, pos, frame_end, end, 1)
        code = struct.unpack(fmt, data[start + 1 : pos])[0]
        record(refs, *ext_key(code), f"EXT{size}", False, start + state.base)
        stack.append(None)
        return pos
    if op == OBJ:  # OBJ: the class is a global already recorded
        if not marks:
            raise Broken("could not find MARK", start)
        k = marks.pop()
        if len(stack) - k < 1:
            raise Broken("stack underflow", start)
        del stack[k:]
        stack.append(MADE)
        return pos + 1
    if op == POP:
        if len(stack) > fence:
            stack.pop()
        elif marks:
            del stack[marks.pop() :]
        else:
            raise Broken("stack underflow", start)
        return pos + 1
    if op == DUP:
        if len(stack) <= fence:
            raise Broken("stack underflow", start)
        stack.append(stack[-1])
        return pos + 1
    raise Broken(f"invalid load key, {bytes([op])!r}", start)
