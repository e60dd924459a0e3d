"""The opcode machine: CPython's unpickler, rewritten for safety and speed.

This module only moves bytes, stack items and memo entries around. Whatever a
pickle asks to *do* with objects (resolve a global, call, instantiate, set
state) is delegated: globals and the other hooks go to the host (an
:class:`~emulpickle.Unpickler`, typed by :class:`~emulpickle.machine.host.Host`),
object operations to :mod:`emulpickle.machine.semantics`.

The hot loop keeps everything in typed locals and dispatches with an ``if``
chain ordered by how often opcodes occur in real pickles; the module is kept
mypyc-compatible (plain classes, typed locals, no dynamic tricks).

Input is a ``bytes`` buffer read by index. For in-memory pickles that is the
whole input; for file objects the buffer is refilled in bounded chunks, so an
untrusted length prefix can never make the machine allocate more than what
the file actually holds.
"""

from __future__ import annotations

import codecs
import sys
from struct import Struct
from typing import Any, Final

from .._render import bounded_repr, exception_text
from ..errors import (
    EmulationError,
    LimitExceededError,
    TruncatedError,
    UnpicklingError,
    UnsupportedProtocolError,
)
from ..limits import Limits
from . import semantics
from .hashkeys import HASH_MODULUS, NESTED_KINDS, UNCOUNTED_KINDS, HashKeyChecker
from .host import Handler, Host, Replacement, StateSetter
from .opcodes import (
    ADDITEMS,
    APPEND,
    APPENDS,
    BINBYTES,
    BINBYTES8,
    BINFLOAT,
    BINGET,
    BININT,
    BININT1,
    BININT2,
    BINPERSID,
    BINPUT,
    BINSTRING,
    BINUNICODE,
    BINUNICODE8,
    BUILD,
    BYTEARRAY8,
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
    opcode_name,
)
from .py2names import map_python2_name
from .standins import BUILTIN_CALLS

HIGHEST_PROTOCOL: Final = 5

# Final, so that compiled code keeps them in C statics instead of looking them
# up in the module dict on every use.
_unpack_int32: Final = Struct("<i").unpack_from
_unpack_uint16: Final = Struct("<H").unpack_from
_unpack_uint32: Final = Struct("<I").unpack_from
_unpack_uint64: Final = Struct("<Q").unpack_from
_unpack_double: Final = Struct(">d").unpack_from
# Compiled by mypyc, byte arithmetic on ``bytes`` is native C and much faster
# than a struct call; interpreted, struct is faster. Hot opcodes pick per build.
_NATIVE: Final = __file__.endswith((".so", ".pyd"))
# Ints of smaller magnitude hash to themselves: keys the checker never counts.
_EXACT_HASH: Final = HASH_MODULUS
# Text PUT indices past this are refused, as CPython's C unpickler does: the
# memo dict must not receive arbitrarily large (colliding) int keys.
_MAX_MEMO_INDEX: Final = sys.maxsize
# Returns (bytes, int); Any because older typeshed (mypy < 2) says str, which
# code compiled by those mypyc versions would check for.
_escape_decode: Any = codecs.escape_decode


def _u16(data: bytes, i: int) -> int:
    """Little-endian unsigned 16-bit integer at ``data[i]``."""
    if _NATIVE:
        return data[i] | (data[i + 1] << 8)
    return int(_unpack_uint16(data, i)[0])


def _u32(data: bytes, i: int) -> int:
    """Little-endian unsigned 32-bit integer at ``data[i]``."""
    if _NATIVE:
        return data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
    return int(_unpack_uint32(data, i)[0])


def _i32(data: bytes, i: int) -> int:
    """Little-endian signed 32-bit integer at ``data[i]``."""
    n = _u32(data, i)
    return n - 0x100000000 if n >= 0x80000000 else n


# 2.0 ** (e - 1075) for each biased exponent e (e = 0 shares e = 1's scale).
_POW2: Final[list[float]] = [2.0 ** (max(e, 1) - 1075) for e in range(2047)]


def _double_be(data: bytes, i: int) -> float:
    """The big-endian IEEE 754 double at ``data[i]``, decoded arithmetically.

    Compiled, this is native code with no tuple to allocate. Scaling the
    integer significand by a power of two is exact for every finite double;
    infinities and NaNs (whose payload must survive) go through struct.
    """
    hi = (data[i] << 24) | (data[i + 1] << 16) | (data[i + 2] << 8) | data[i + 3]
    lo = (data[i + 4] << 24) | (data[i + 5] << 16) | (data[i + 6] << 8) | data[i + 7]
    exponent = (hi >> 20) & 0x7FF
    if exponent == 0x7FF:
        return float(_unpack_double(data, i)[0])
    significand = ((hi & 0xFFFFF) << 32) | lo
    if exponent:
        significand |= 0x10000000000000
    value = float(significand) * _POW2[exponent]
    return -value if hi & 0x80000000 else value


def _memoize(memo: list[Any], far: dict[int, Any], dense: bool, obj: object) -> None:
    """MEMOIZE ``obj`` (the memo is ``memo`` while dense, else ``far``)."""
    if dense:
        memo.append(obj)
    else:
        far[len(far)] = obj


def _check_needed(key: Any, size: int, watch: int) -> bool:
    """Whether the key checker must see a key going into a dict of ``size``.

    Nested keys are always measured, and so are ints of 2**61 - 1 or more in
    magnitude (their size is bounded: comparing a huge one is slow). Hashes
    are counted only in containers of at least ``watch`` keys, and never for
    smaller ints (the commonest keys after str: they hash to themselves).
    """
    kind = type(key)
    if kind is int:
        return not -_EXACT_HASH < key < _EXACT_HASH
    if kind in NESTED_KINDS:
        return True
    return size >= watch and kind not in UNCOUNTED_KINDS


#: Matches no object the machine meets (the "nothing cached yet" marker).
_NOTHING: Final = object()


class Passthrough(Exception):
    """Carries an exception raised by user code out of the machine unchanged."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(exc)
        self.exc = exc


class Machine:
    """One run of the unpickling machine over one input source.

    ``host`` (an Unpickler) answers ``resolve_global``, ``persistent_load``,
    ``get_extension``, ``next_buffer``, ``make_readonly``, ``call_handler``
    and ``state_setter`` (see :class:`~emulpickle.machine.host.Host`). The
    machine is the one cache of the last two: each is asked once per object
    (or class) and unpickler.

    ``load`` may be called repeatedly: each call reads one pickle and leaves
    the input positioned right after its STOP opcode.
    """

    def __init__(
        self,
        host: Host,
        source: Any,
        *,
        encoding: str,
        errors: str,
        fix_imports: bool,
        limits: Limits,
        wrap_errors: bool,
    ) -> None:
        self.host: Host = host
        self.encoding = encoding
        self.errors = errors
        self.fix_imports = fix_imports
        self.limits = limits
        # True when objects come from the registry: failures inside them are
        # reported as EmulationError. False with user hooks: their exceptions
        # propagate unchanged, as with pickle.
        self.wrap_errors = wrap_errors
        self.proto = 0
        # ids of the objects globals resolved to: registry emulators are shared
        # by every load, so in registry mode a pickle may not modify them.
        self.global_ids: set[int] = set()
        # The host's call handler for each object called or instantiated, and
        # what REDUCE calls for each global it has called (both by id, with
        # the object kept alive beside it), and the BUILD setter for each
        # class: resolved once per unpickler instead of once per opcode.
        self._handlers: dict[int, tuple[object, Handler | None]] = {}
        self._callees: dict[int, tuple[object, Any]] = {}
        self._setters: dict[type, StateSetter | None] = {}
        # What state setters built, by id (held, so that no id is reused).
        self._built: dict[int, object] = {}
        # The last of each, checked first: pickles tend to repeat one call
        # (or one class's BUILD) many times in a row.
        self._last_func: object = _NOTHING
        self._last_callee: Any = None
        self._last_class: object = _NOTHING
        self._last_setter: Any = None
        # Refuses dict keys and set items whose hashing would crash or stall;
        # it counts keys by hash in containers of ``watch`` keys or more.
        self.keys = HashKeyChecker(limits)
        self.watch: int = limits.max_hash_collisions
        self.file: Any = None
        self.file_read: Any = None
        self.seekable = False
        self.data: bytes = b""
        if isinstance(source, bytes):
            self.data = source
        elif isinstance(source, (bytearray, memoryview)):
            self.data = bytes(source)
        else:
            self.file = source
            self.seekable = _is_seekable(source)
            self.file_read = source.read
        self.pos = 0
        self.end = len(self.data)
        self.frame_end = -1
        self.base = 0  # stream offset of self.data[0]
        # Where the global being resolved is named: the stream offset and
        # opcode of its GLOBAL, STACK_GLOBAL, INST or EXT (-1 before any).
        # The host reads them to say where a global it refuses is.
        self.global_offset = -1
        self.global_opcode = -1

    # ----------------------------------------------------------------- input

    def _more(self, pos: int, n: int, header: int = 1) -> None:
        """Make ``n`` bytes available at ``pos`` (sets data/pos/end) or raise.

        ``pos`` is where the current opcode starts. Inside a frame, the frame
        may end only between the separate reads an opcode makes (after the
        opcode byte, or after ``header`` bytes of opcode and length), as in
        CPython: no single read may straddle the end of a frame.
        """
        where = self.base + pos
        if self.frame_end >= 0:
            split = self.frame_end - pos
            if split > 0 and split != 1 and split != header:
                raise UnpicklingError(
                    "pickle exhausted before end of frame", offset=where
                )
            self.frame_end = -1
            self.end = len(self.data)
            if pos + n <= self.end:
                self.pos = pos
                return
        if self.file is None:
            self.pos = pos
            raise self._truncated(pos, where)
        self._fill(pos, n)
        if self.end - self.pos < n:
            raise self._truncated(self.pos, where)

    def _truncated(self, pos: int, where: int) -> TruncatedError:
        if self.base + pos == 0 and self.end == 0:
            return TruncatedError("ran out of input (the pickle is empty)", offset=0)
        return TruncatedError("pickle data was truncated", offset=where)

    def _fill(self, pos: int, n: int) -> None:
        """Read from the file until ``n`` bytes follow ``pos``, or EOF."""
        chunks = [self.data[pos:]] if pos < len(self.data) else []
        self.base += pos
        have = len(self.data) - pos if pos < len(self.data) else 0
        chunk = self.limits.read_chunk
        read = self.file_read
        while have < n:
            # Never ask for more than one chunk at a time: a hostile length
            # prefix must not size an allocation; only present bytes count.
            want = n - have
            if self.seekable:
                want = max(want, chunk)
            got = read(min(want, chunk))
            if not got:
                break
            if not isinstance(got, bytes):
                got = bytes(got)
            chunks.append(got)
            have += len(got)
        self.data = b"".join(chunks)
        self.pos = 0
        self.end = len(self.data)

    def _line(self, pos: int, start: int) -> int:
        """Index of the newline ending the line at ``pos``.

        Sets ``self.pos`` to where ``pos`` now is, since the buffer may be
        refilled from the file. ``start`` is the opcode's position, for errors.
        """
        where = self.base + start
        self.pos = pos
        i = self.data.find(b"\n", pos, self.end)
        if i >= 0:
            return i
        if self.frame_end >= 0:
            if pos < self.frame_end:
                raise UnpicklingError(
                    "pickle exhausted before end of frame", offset=where
                )
            self.frame_end = -1
            self.end = len(self.data)
            i = self.data.find(b"\n", pos, self.end)
            if i >= 0:
                return i
        if self.file is None:
            raise self._truncated(pos, where)
        readline = None if self.seekable else getattr(self.file, "readline", None)
        while True:
            scanned = self.end - self.pos
            if readline is not None:
                self.base += self.pos
                line = readline()
                self.data = self.data[self.pos :] + bytes(line)
                self.pos = 0
                self.end = len(self.data)
            else:
                self._fill(self.pos, scanned + 1)
            i = self.data.find(b"\n", self.pos + scanned, self.end)
            if i >= 0:
                return i
            if self.end - self.pos <= scanned:
                raise self._truncated(self.pos, where)

    def give_back(self) -> None:
        """Seek a seekable file back to just after the bytes consumed."""
        if self.file is not None and self.seekable:
            unread = len(self.data) - min(max(self.pos, 0), len(self.data))
            if unread > 0:
                self.file.seek(-unread, 1)
            self.base += self.pos
            self.data = b""
            self.pos = 0
            self.end = 0
            self.frame_end = -1

    # ----------------------------------------------------------- main loop

    def load(self) -> object:
        """Run until STOP and return the pickled object."""
        # The memo is a list while the pickle fills it densely from 0, as
        # picklers do; a PUT past its end switches to a dict (``far``) for the
        # rest of the load, so a huge index costs one entry, not gigabytes.
        memo: list[Any] = []
        far: dict[int, Any] = {}
        dense = True
        self.proto = 0
        self.frame_end = -1
        self.end = len(self.data)
        data = self.data
        pos = self.pos
        end = self.end
        stack: list[Any] = []
        metastack: list[list[Any]] = []
        max_marks = self.limits.max_mark_depth
        op = -1
        n = 0
        obj: Any = None
        obj2: Any = None
        lst: list[Any] = []
        dct: dict[Any, Any] = {}
        items: list[Any] = []
        # Invariant: while an opcode is handled, ``pos`` is its offset in
        # ``data``; handlers advance it past their argument at the end, so an
        # error raised anywhere reports where the opcode starts.
        # Protocol 4+ picklers follow nearly every object they make with a
        # MEMOIZE; the handlers of those objects do it when it comes next in
        # the same frame, which saves a turn of the loop.
        try:
            while True:
                try:
                    op = data[pos]
                except IndexError:
                    op = -1
                    self._more(pos, 1)
                    data = self.data
                    pos = self.pos
                    end = self.end
                    op = data[pos]
                if op == BINGET:
                    if pos + 2 > end:
                        self._more(pos, 2)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    n = data[pos + 1]
                    if not dense:
                        stack.append(far[n])
                    elif n < len(memo):
                        stack.append(memo[n])
                    else:
                        raise KeyError(n)
                    pos += 2
                elif op == SHORT_BINUNICODE:
                    if pos + 2 > end:
                        self._more(pos, 2)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    n = pos + 2 + data[pos + 1]
                    if n > end:
                        self._more(pos, n - pos, 2)
                        n += self.pos - pos
                        data = self.data
                        pos = self.pos
                        end = self.end
                    obj = data[pos + 2 : n].decode("utf-8", "surrogatepass")
                    stack.append(obj)
                    pos = n
                    if pos < end and data[pos] == MEMOIZE:
                        if dense:
                            memo.append(obj)
                        else:
                            far[len(far)] = obj
                        pos += 1
                elif op == MARK:
                    if len(metastack) >= max_marks:
                        raise LimitExceededError(
                            f"more than {max_marks} nested MARKs",
                            limit="max_mark_depth",
                        )
                    metastack.append(stack)
                    stack = []
                    pos += 1
                elif op == BININT:
                    if pos + 5 > end:
                        self._more(pos, 5)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    if _NATIVE:
                        n = (
                            data[pos + 1]
                            | (data[pos + 2] << 8)
                            | (data[pos + 3] << 16)
                            | (data[pos + 4] << 24)
                        )
                        stack.append(n - 0x100000000 if n >= 0x80000000 else n)
                    else:
                        stack.append(_unpack_int32(data, pos + 1)[0])
                    pos += 5
                elif op == BININT1:
                    if pos + 2 > end:
                        self._more(pos, 2)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    stack.append(data[pos + 1])
                    pos += 2
                elif op == BININT2:
                    if pos + 3 > end:
                        self._more(pos, 3)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    if _NATIVE:
                        stack.append(data[pos + 1] | (data[pos + 2] << 8))
                    else:
                        stack.append(_unpack_uint16(data, pos + 1)[0])
                    pos += 3
                elif op == APPENDS:
                    items = stack
                    stack = metastack.pop()
                    obj = stack[-1]
                    if type(obj) is list:
                        lst = obj
                        lst.extend(items)
                    else:
                        self._extend(obj, items)
                    pos += 1
                elif op == SETITEMS:
                    items = stack
                    stack = metastack.pop()
                    obj = stack[-1]
                    if len(items) & 1:
                        raise UnpicklingError("odd number of items for SETITEMS")
                    if type(obj) is dict:
                        dct = obj
                        if _NATIVE:
                            # Indexing a typed list is native code when compiled.
                            n = 0
                            while n < len(items):
                                obj2 = items[n]
                                if type(obj2) is not str and _check_needed(
                                    obj2, len(dct), self.watch
                                ):
                                    self._set_checked(dct, items[n:])
                                    break
                                dct[obj2] = items[n + 1]
                                n += 2
                        else:
                            keys = iter(items)
                            for obj2 in keys:
                                obj = next(keys)
                                # Interpreted, a call per int key would show.
                                if (
                                    type(obj2) is not str
                                    and (
                                        type(obj2) is not int
                                        or not -_EXACT_HASH < obj2 < _EXACT_HASH
                                    )
                                    and _check_needed(obj2, len(dct), self.watch)
                                ):
                                    self._set_checked(dct, [obj2, obj, *keys])
                                    break
                                dct[obj2] = obj
                    else:
                        self._set_items(obj, items)
                    pos += 1
                elif op == EMPTY_LIST:
                    obj = []
                    stack.append(obj)
                    pos += 1
                    if pos < end and data[pos] == MEMOIZE:
                        if dense:
                            memo.append(obj)
                        else:
                            far[len(far)] = obj
                        pos += 1
                elif op == EMPTY_DICT:
                    obj = {}
                    stack.append(obj)
                    pos += 1
                    if pos < end and data[pos] == MEMOIZE:
                        if dense:
                            memo.append(obj)
                        else:
                            far[len(far)] = obj
                        pos += 1
                elif op == BINFLOAT:
                    if pos + 9 > end:
                        self._more(pos, 9)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    if _NATIVE:
                        stack.append(_double_be(data, pos + 1))
                    else:
                        stack.append(_unpack_double(data, pos + 1)[0])
                    pos += 9
                elif op == LONG1 or op == LONG4:
                    n = 2 if op == LONG1 else 5
                    if pos + n > end:
                        self._more(pos, n)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    if n == 2:
                        n = pos + 2 + data[pos + 1]
                    else:
                        n = _i32(data, pos + 1)
                        if n < 0:
                            raise UnpicklingError("LONG pickle has negative byte count")
                        n += pos + 5
                    if n > end:
                        self._more(pos, n - pos, 2 if op == LONG1 else 5)
                        n += self.pos - pos
                        data = self.data
                        pos = self.pos
                        end = self.end
                    stack.append(
                        int.from_bytes(
                            data[pos + (2 if op == LONG1 else 5) : n],
                            "little",
                            signed=True,
                        )
                    )
                    pos = n
                elif op == NEWTRUE:
                    stack.append(True)
                    pos += 1
                elif op == NEWFALSE:
                    stack.append(False)
                    pos += 1
                elif op == NONE:
                    stack.append(None)
                    pos += 1
                elif op == MEMOIZE:
                    if dense:
                        memo.append(stack[-1])
                    else:
                        far[len(far)] = stack[-1]
                    pos += 1
                elif op == SHORT_BINBYTES:
                    if pos + 2 > end:
                        self._more(pos, 2)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    n = pos + 2 + data[pos + 1]
                    if n > end:
                        self._more(pos, n - pos, 2)
                        n += self.pos - pos
                        data = self.data
                        pos = self.pos
                        end = self.end
                    obj = data[pos + 2 : n]
                    stack.append(obj)
                    pos = n
                    if pos < end and data[pos] == MEMOIZE:
                        if dense:
                            memo.append(obj)
                        else:
                            far[len(far)] = obj
                        pos += 1
                elif op == BINPUT:
                    if pos + 2 > end:
                        self._more(pos, 2)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    obj = stack[-1]
                    n = data[pos + 1]
                    if dense and n == len(memo):
                        memo.append(obj)
                    elif dense and n < len(memo):
                        memo[n] = obj
                    else:
                        if dense:
                            far = dict(enumerate(memo))
                            memo = []
                            dense = False
                        far[n] = obj
                    pos += 2
                elif op == LONG_BINGET:
                    if pos + 5 > end:
                        self._more(pos, 5)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    n = _u32(data, pos + 1)
                    if not dense:
                        stack.append(far[n])
                    elif n < len(memo):
                        stack.append(memo[n])
                    else:
                        raise KeyError(n)
                    pos += 5
                elif op == LONG_BINPUT:
                    if pos + 5 > end:
                        self._more(pos, 5)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    obj = stack[-1]
                    n = _u32(data, pos + 1)
                    if dense and n == len(memo):
                        memo.append(obj)
                    elif dense and n < len(memo):
                        memo[n] = obj
                    else:
                        if dense:
                            far = dict(enumerate(memo))
                            memo = []
                            dense = False
                        far[n] = obj
                    pos += 5
                elif op == TUPLE1:
                    obj = (stack[-1],)
                    stack[-1] = obj
                    pos += 1
                    if pos < end and data[pos] == MEMOIZE:
                        _memoize(memo, far, dense, obj)
                        pos += 1
                elif op == TUPLE2:
                    obj = stack.pop()
                    obj = (stack[-1], obj)
                    stack[-1] = obj
                    pos += 1
                    if pos < end and data[pos] == MEMOIZE:
                        _memoize(memo, far, dense, obj)
                        pos += 1
                elif op == TUPLE3:
                    obj = stack.pop()
                    obj2 = stack.pop()
                    obj = (stack[-1], obj2, obj)
                    stack[-1] = obj
                    pos += 1
                    if pos < end and data[pos] == MEMOIZE:
                        _memoize(memo, far, dense, obj)
                        pos += 1
                elif op == EMPTY_TUPLE:
                    stack.append(())
                    pos += 1
                elif op == TUPLE:
                    obj = tuple(stack)
                    stack = metastack.pop()
                    stack.append(obj)
                    pos += 1
                    if pos < end and data[pos] == MEMOIZE:
                        _memoize(memo, far, dense, obj)
                        pos += 1
                elif op == APPEND:
                    obj = stack.pop()
                    obj2 = stack[-1]
                    if type(obj2) is list:
                        obj2.append(obj)
                    else:
                        self._extend(obj2, [obj])
                    pos += 1
                elif op == SETITEM:
                    obj = stack.pop()
                    obj2 = stack.pop()
                    if type(stack[-1]) is dict:
                        dct = stack[-1]
                        if type(obj2) is not str and _check_needed(
                            obj2, len(dct), self.watch
                        ):
                            self.keys.check(obj2, dct)
                        dct[obj2] = obj
                    else:
                        self._set_items(stack[-1], [obj2, obj])
                    pos += 1
                elif op == BINUNICODE or op == BINUNICODE8:
                    n = 5 if op == BINUNICODE else 9
                    if pos + n > end:
                        self._more(pos, n)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    if n == 5:
                        n = pos + 5 + _u32(data, pos + 1)
                    else:
                        n = pos + 9 + _unpack_uint64(data, pos + 1)[0]
                    if n > end:
                        self._more(pos, n - pos, 5 if op == BINUNICODE else 9)
                        n += self.pos - pos
                        data = self.data
                        pos = self.pos
                        end = self.end
                    obj = data[pos + (5 if op == BINUNICODE else 9) : n].decode(
                        "utf-8", "surrogatepass"
                    )
                    stack.append(obj)
                    pos = n
                    if pos < end and data[pos] == MEMOIZE:
                        if dense:
                            memo.append(obj)
                        else:
                            far[len(far)] = obj
                        pos += 1
                elif op == REDUCE:
                    obj = stack.pop()
                    obj = self._reduce(stack[-1], obj)
                    stack[-1] = obj
                    pos += 1
                    if pos < end and data[pos] == MEMOIZE:
                        _memoize(memo, far, dense, obj)
                        pos += 1
                elif op == BUILD:
                    obj = stack.pop()
                    obj = self._build(stack[-1], obj)
                    if obj is not None:
                        stack[-1] = obj
                    pos += 1
                elif op == STACK_GLOBAL:
                    obj = stack.pop()
                    obj2 = stack.pop()
                    if type(obj2) is not str or type(obj) is not str:
                        raise UnpicklingError("STACK_GLOBAL requires str")
                    obj = self._global(obj2, obj, pos, op)
                    stack.append(obj)
                    pos += 1
                    if pos < end and data[pos] == MEMOIZE:
                        _memoize(memo, far, dense, obj)
                        pos += 1
                elif op == NEWOBJ:
                    obj = stack.pop()
                    obj = self._new(stack[-1], obj, _NOTHING)
                    stack[-1] = obj
                    pos += 1
                    if pos < end and data[pos] == MEMOIZE:
                        _memoize(memo, far, dense, obj)
                        pos += 1
                elif op == FRAME:
                    if pos + 9 > end:
                        self._more(pos, 9)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    n = _unpack_uint64(data, pos + 1)[0]
                    if self.frame_end >= 0 and pos + 9 < self.frame_end:
                        raise UnpicklingError(
                            "beginning of a new frame before end of current frame"
                        )
                    self.frame_end = -1
                    end = len(data)
                    self.end = end
                    if n > end - pos - 9:
                        self._more(pos, n + 9)
                        data = self.data
                        pos = self.pos
                    pos += 9
                    self.frame_end = pos + n
                    end = self.frame_end
                    self.end = end
                elif op == BINBYTES or op == BINBYTES8 or op == BYTEARRAY8:
                    # BINBYTES, BINBYTES8, BYTEARRAY8
                    n = 5 if op == BINBYTES else 9
                    if pos + n > end:
                        self._more(pos, n)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    if n == 5:
                        n = pos + 5 + _u32(data, pos + 1)
                    else:
                        n = pos + 9 + _unpack_uint64(data, pos + 1)[0]
                    if n > end:
                        self._more(pos, n - pos, 5 if op == BINBYTES else 9)
                        n += self.pos - pos
                        data = self.data
                        pos = self.pos
                        end = self.end
                    if op == BYTEARRAY8:
                        obj = bytearray(memoryview(data)[pos + 9 : n])
                    else:
                        obj = data[pos + (5 if op == BINBYTES else 9) : n]
                    stack.append(obj)
                    pos = n
                    if pos < end and data[pos] == MEMOIZE:
                        if dense:
                            memo.append(obj)
                        else:
                            far[len(far)] = obj
                        pos += 1
                elif op == EMPTY_SET:
                    stack.append(set())
                    pos += 1
                elif op == ADDITEMS:
                    items = stack
                    stack = metastack.pop()
                    obj = stack[-1]
                    if type(obj) is set:
                        self.keys.check_all(items, obj)
                        obj.update(items)
                    else:
                        self._add_items(obj, items)
                    pos += 1
                elif op == FROZENSET:
                    self.keys.check_new(stack)
                    obj = frozenset(stack)
                    stack = metastack.pop()
                    stack.append(obj)
                    pos += 1
                elif op == LIST:
                    obj = stack
                    stack = metastack.pop()
                    stack.append(obj)
                    pos += 1
                elif op == DICT:
                    if len(stack) & 1:
                        raise UnpicklingError("odd number of items for DICT")
                    self.keys.check_new(stack[::2])
                    keys = iter(stack)
                    obj = dict(zip(keys, keys, strict=False))
                    stack = metastack.pop()
                    stack.append(obj)
                    pos += 1
                elif op == STOP:
                    obj = stack.pop()
                    self.data = data
                    self.pos = pos + 1
                    return obj
                elif op == PROTO:
                    if pos + 2 > end:
                        self._more(pos, 2)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    n = data[pos + 1]
                    if n > HIGHEST_PROTOCOL:
                        raise UnsupportedProtocolError(
                            f"unsupported pickle protocol: {n}"
                        )
                    self.proto = n
                    pos += 2
                elif op == POP:
                    if stack:
                        stack.pop()
                    else:
                        stack = metastack.pop()
                    pos += 1
                elif op == POP_MARK:
                    stack = metastack.pop()
                    pos += 1
                elif op == DUP:
                    stack.append(stack[-1])
                    pos += 1
                elif op == NEWOBJ_EX:
                    obj = stack.pop()
                    obj2 = stack.pop()
                    obj = self._new(stack[-1], obj2, obj)
                    stack[-1] = obj
                    pos += 1
                    if pos < end and data[pos] == MEMOIZE:
                        _memoize(memo, far, dense, obj)
                        pos += 1
                elif op == OBJ:
                    items = stack
                    stack = metastack.pop()
                    if not items:
                        raise UnpicklingError("OBJ needs a class after the MARK")
                    stack.append(self._instantiate(items[0], tuple(items[1:])))
                    pos += 1
                elif op == BINPERSID:
                    stack[-1] = self._persistent(stack[-1])
                    pos += 1
                elif op == EXT1 or op == EXT2 or op == EXT4:
                    n = 2 if op == EXT1 else (3 if op == EXT2 else 5)
                    if pos + n > end:
                        self._more(pos, n)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    if n == 2:
                        obj = data[pos + 1]
                    elif n == 3:
                        obj = _u16(data, pos + 1)
                    else:
                        obj = _i32(data, pos + 1)
                    stack.append(self._extension(obj, pos, op))
                    pos += n
                elif op == NEXT_BUFFER:
                    stack.append(self._next_buffer())
                    pos += 1
                elif op == READONLY_BUFFER:
                    stack[-1] = self._readonly(stack[-1])
                    pos += 1
                elif op == BINSTRING or op == SHORT_BINSTRING:
                    n = 5 if op == BINSTRING else 2
                    if pos + n > end:
                        self._more(pos, n)
                        data = self.data
                        pos = self.pos
                        end = self.end
                    if n == 5:
                        n = _i32(data, pos + 1)
                        if n < 0:
                            raise UnpicklingError(
                                "BINSTRING pickle has negative byte count"
                            )
                        n += pos + 5
                    else:
                        n = pos + 2 + data[pos + 1]
                    if n > end:
                        self._more(pos, n - pos, 5 if op == BINSTRING else 2)
                        n += self.pos - pos
                        data = self.data
                        pos = self.pos
                        end = self.end
                    stack.append(
                        self._decode_string(
                            data[pos + (5 if op == BINSTRING else 2) : n]
                        )
                    )
                    pos = n
                elif op == GLOBAL or op == INST:
                    n = self._line(pos + 1, pos)
                    data = self.data
                    pos = self.pos - 1
                    end = self.end
                    obj = data[pos + 1 : n]
                    n = self._line(n + 1, pos)
                    data = self.data
                    obj2 = data[self.pos : n]
                    pos = self.pos - 1 - len(obj) - 1
                    end = self.end
                    obj = self._global(
                        self._decode_name(obj, op), self._decode_name(obj2, op), pos, op
                    )
                    if op == INST:
                        items = stack
                        stack = metastack.pop()
                        obj = self._instantiate(obj, tuple(items))
                    stack.append(obj)
                    pos = n + 1
                elif (
                    op == INT
                    or op == LONG
                    or op == FLOAT
                    or op == STRING
                    or op == UNICODE
                    or op == GET
                    or op == PUT
                    or op == PERSID
                ):
                    n = self._line(pos + 1, pos)
                    data = self.data
                    pos = self.pos - 1
                    end = self.end
                    obj = data[pos + 1 : n]
                    if op == PUT:
                        n2 = int(obj)
                        if n2 < 0:
                            raise UnpicklingError("negative PUT argument")
                        if n2 > _MAX_MEMO_INDEX:
                            raise UnpicklingError("PUT index larger than sys.maxsize")
                        obj2 = stack[-1]
                        if dense and n2 == len(memo):
                            memo.append(obj2)
                        elif dense and n2 < len(memo):
                            memo[n2] = obj2
                        else:
                            if dense:
                                far = dict(enumerate(memo))
                                memo = []
                                dense = False
                            far[n2] = obj2
                    elif op == GET:
                        n2 = int(obj)
                        if not dense:
                            stack.append(far[n2])
                        elif 0 <= n2 < len(memo):
                            stack.append(memo[n2])
                        else:
                            raise KeyError(n2)
                    else:
                        stack.append(self._text_value(op, obj))
                    pos = n + 1
                else:
                    raise UnpicklingError(f"invalid load key, {bytes([op])!r}")
        except UnpicklingError as exc:
            self.pos = pos
            exc.locate(self.base + pos, opcode_name(op))  # type: ignore[arg-type]
            raise
        except Passthrough:
            self.pos = pos
            raise
        except IndexError:
            self.pos = pos
            raise UnpicklingError(
                "unpickling stack underflow (missing MARK or operand)",
                offset=self.base + pos,
                opcode=opcode_name(op),
            ) from None
        except KeyError as exc:
            self.pos = pos
            raise UnpicklingError(
                f"memo value not found at index {exception_text(exc)}",
                offset=self.base + pos,
                opcode=opcode_name(op),
            ) from None
        except RecursionError:
            self.pos = pos
            raise LimitExceededError(
                "object nesting too deep to process",
                limit="recursion",
                offset=self.base + pos,
                opcode=opcode_name(op),
            ) from None
        except Exception as exc:
            self.pos = pos
            raise UnpicklingError(
                f"{type(exc).__name__}: {exception_text(exc)}",
                offset=self.base + pos,
                opcode=opcode_name(op),
            ) from exc

    # ------------------------------------------------------------ slow paths

    def _guarded(self, exc: Exception) -> Exception:
        """Turn an exception raised inside an emulator or user object."""
        if isinstance(exc, (UnpicklingError, Passthrough)):
            return exc
        if self.wrap_errors:
            error = EmulationError(f"{type(exc).__name__}: {exception_text(exc)}")
            error.__cause__ = exc
            return error
        return Passthrough(exc)

    def _hook_error(self, exc: Exception) -> Exception:
        """Exceptions from hooks propagate unchanged (ours are UnpicklingErrors)."""
        if isinstance(exc, (UnpicklingError, Passthrough)):
            return exc
        return Passthrough(exc)

    def _check_not_global(self, target: object, method: str) -> None:
        if (
            self.wrap_errors
            and id(target) in self.global_ids
            and semantics.protocol_method(target, method) is None
            and not (method == "py_setstate" and _has_dict_protocol(target))
        ):
            raise EmulationError(
                f"the pickle tried to modify the shared global {bounded_repr(target)}"
            )

    def _reduce(self, func: object, args: object) -> object:
        if type(args) is not tuple:
            raise UnpicklingError("REDUCE argument must be a tuple")
        try:
            return self._call(func, args)
        except RecursionError:
            raise
        except Exception as exc:
            raise self._guarded(exc) from exc

    def _new(self, cls: object, args: object, kwargs: object) -> object:
        """NEWOBJ (``kwargs`` is _NOTHING) or NEWOBJ_EX."""
        if kwargs is _NOTHING:
            if type(args) is not tuple:
                raise UnpicklingError(
                    f"NEWOBJ args argument must be a tuple, not {type(args).__name__}"
                )
            kwargs = {}
        elif type(args) is not tuple:
            raise UnpicklingError(
                f"NEWOBJ_EX args argument must be a tuple, not {type(args).__name__}"
            )
        elif type(kwargs) is not dict:
            # CPython refuses anything but a dict here, None included.
            raise UnpicklingError(
                f"NEWOBJ_EX kwargs argument must be a dict, not {type(kwargs).__name__}"
            )
        try:
            return self._new_object(cls, args, kwargs)
        except RecursionError:
            raise
        except Exception as exc:
            raise self._guarded(exc) from exc

    def _instantiate(self, klass: object, args: tuple[object, ...]) -> object:
        try:
            # INST/OBJ: old-style instantiation, as CPython's _instantiate.
            if args or not isinstance(klass, type) or hasattr(klass, "__getinitargs__"):
                return self._call(klass, args)
            return self._new_object(klass, (), {})
        except RecursionError:
            raise
        except Exception as exc:
            raise self._guarded(exc) from exc

    def _call(self, func: object, args: tuple[Any, ...]) -> object:
        if func is self._last_func:
            return self._last_callee(*args)
        cached = self._callees.get(id(func))
        if cached is not None and cached[0] is func:
            self._last_func = func
            self._last_callee = cached[1]
            return cached[1](*args)
        handler = self.call_handler(func)
        if id(func) in self.global_ids:
            # Registry-answered globals cannot be modified by the pickle, so
            # what calling one means cannot change during the load: its
            # handler, its py_call, a builtin stand-in, or the registered
            # function itself.
            callee: Any = None
            if handler is not None:
                callee = handler.call
            else:
                callee = semantics.protocol_method(func, "py_call")
                if callee is None and isinstance(func, type):
                    callee = BUILTIN_CALLS.get(func)
                if callee is None:
                    callee = func
            if callee is not None:
                self._callees[id(func)] = (func, callee)
        if handler is None:
            return semantics.call(func, args)
        if handler.call is None:
            raise EmulationError(f"{bounded_repr(func)} may not be called here")
        return handler.call(*args)

    def _new_object(
        self, cls: object, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> object:
        handler = self.call_handler(cls)
        if handler is None:
            return semantics.new(cls, args, kwargs)
        if handler.new is None:
            raise EmulationError(f"{bounded_repr(cls)} may not be instantiated here")
        return handler.new(*args, **kwargs)

    # The call policy emulators are held to (see semantics.call / new).

    def trusts(self, obj: object) -> bool:
        """Whether ``obj`` may be called or instantiated as it is.

        With user hooks, anything (pickle semantics); in registry mode only
        what a global resolved to: the registry vouches for it.
        """
        return not self.wrap_errors or id(obj) in self.global_ids

    def call_handler(self, obj: object) -> Handler | None:
        """The registry's call handler for ``obj`` (None if it has none)."""
        key = id(obj)
        cached = self._handlers.get(key)
        if cached is not None and cached[0] is obj:
            return cached[1]
        handler = self.host.call_handler(obj)
        self._handlers[key] = (obj, handler)
        return handler

    def _build(self, inst: object, state: object) -> object:
        """BUILD; returns what replaces ``inst`` on the stack (a state
        setter's :class:`Replacement`), else None."""
        self._check_not_global(inst, "py_setstate")
        try:
            cls = type(inst)
            if cls is self._last_class:
                setter = self._last_setter
            else:
                if cls in self._setters:
                    setter = self._setters[cls]
                else:
                    setter = self.host.state_setter(cls)
                    self._setters[cls] = setter
                self._last_class = cls
                self._last_setter = setter
            if setter is not None:
                if id(inst) in self._built:
                    # What a setter checked is not replaced unchecked later:
                    # pickle writes one BUILD per object.
                    raise EmulationError(
                        f"a second BUILD on {bounded_repr(inst)}, which its "
                        "emulator already built and checked"
                    )
                done = setter(inst, state)
                if isinstance(done, Replacement):
                    built = done.value
                    self._built[id(built)] = built
                    return built
                self._built[id(inst)] = inst
            else:
                semantics.build(inst, state)
            return None
        except RecursionError:
            raise
        except Exception as exc:
            raise self._guarded(exc) from exc

    def _check_not_built(self, target: object, method: str) -> None:
        """Refuse APPEND(S)/SETITEM(S)/ADDITEMS on an object a registered
        state setter has already built (a real numpy array, a fitted
        estimator, ...) unless it implements the matching protocol: the
        setter checked what the object holds, and standard item semantics
        (``arr[0] = 10**9`` on an array an emulator validated as indices)
        would change that afterwards, unchecked. Items before the BUILD
        (a dict subclass's SETITEMS, as pickle writes them) are the
        setter's to check."""
        if (
            id(target) in self._built
            and semantics.protocol_method(target, method) is None
        ):
            raise EmulationError(
                f"the pickle tried to change the items of {bounded_repr(target)}, "
                "which its emulator built and checked"
            )

    def _extend(self, target: object, items: list[object]) -> None:
        self._check_not_global(target, "py_append")
        self._check_not_built(target, "py_append")
        try:
            semantics.extend(target, items)
        except RecursionError:
            raise
        except Exception as exc:
            raise self._guarded(exc) from exc

    def _set_checked(self, dct: dict[Any, Any], items: list[Any]) -> None:
        """SETITEMS into a dict from the first key the checker must see on."""
        keys = items[::2]
        self.keys.check_all(keys, dct)
        n = 1
        for obj in keys:
            dct[obj] = items[n]
            n += 2

    def _set_items(self, target: object, items: list[object]) -> None:
        self._check_not_global(target, "py_setitem")
        self._check_not_built(target, "py_setitem")
        self.keys.check_all(items[::2], target)
        try:
            semantics.set_items(target, items)
        except RecursionError:
            raise
        except Exception as exc:
            raise self._guarded(exc) from exc

    def _add_items(self, target: object, items: list[object]) -> None:
        self._check_not_global(target, "py_add")
        self._check_not_built(target, "py_add")
        self.keys.check_all(items, target)
        try:
            semantics.add_items(target, items)
        except RecursionError:
            raise
        except Exception as exc:
            raise self._guarded(exc) from exc

    def _global(self, module: str, name: str, pos: int, op: int) -> object:
        self.global_offset = self.base + pos
        self.global_opcode = op
        return self.resolve_global(module, name)

    def resolve_global(self, module: str, name: str) -> object:
        """Map a Python 2 name if asked to, then ask the host for the global."""
        if self.proto < 3 and self.fix_imports:
            module, name = map_python2_name(module, name)
        try:
            value = self.host.resolve_global(module, name)
        except Exception as exc:
            raise self._hook_error(exc) from exc
        if self.wrap_errors:
            self.global_ids.add(id(value))
        return value

    def _persistent(self, pid: object) -> object:
        try:
            return self.host.persistent_load(pid)
        except Exception as exc:
            raise self._hook_error(exc) from exc

    def _extension(self, code: int, pos: int, op: int) -> object:
        self.global_offset = self.base + pos
        self.global_opcode = op
        try:
            return self.host.get_extension(code)
        except Exception as exc:
            raise self._hook_error(exc) from exc

    def _next_buffer(self) -> object:
        try:
            return self.host.next_buffer()
        except Exception as exc:
            raise self._hook_error(exc) from exc

    def _readonly(self, obj: object) -> object:
        try:
            return self.host.make_readonly(obj)
        except Exception as exc:
            raise self._hook_error(exc) from exc

    def _decode_name(self, raw: bytes, op: int) -> str:
        """Decode a GLOBAL (UTF-8) or INST (ASCII) name line."""
        return raw.decode("utf-8" if op == GLOBAL else "ascii")

    def _decode_string(self, raw: bytes) -> object:
        """Python 2 ``str`` data: bytes, or text in the requested encoding."""
        if self.encoding == "bytes":
            return raw
        return raw.decode(self.encoding, self.errors)

    def _text_value(self, op: int, raw: bytes) -> object:
        """The value of a protocol 0 text opcode whose line is ``raw``."""
        if op == INT:
            if raw == b"00":
                return False
            if raw == b"01":
                return True
            return int(raw, 0)
        if op == LONG:
            if raw[-1:] == b"L":
                raw = raw[:-1]
            return int(raw, 0)
        if op == FLOAT:
            return float(raw)
        if op == STRING:
            if len(raw) < 2 or raw[0] != raw[-1] or raw[0] not in b"\"'":
                raise UnpicklingError("the STRING opcode argument must be quoted")
            return self._decode_string(_escape_decode(raw[1:-1])[0])
        if op == UNICODE:
            return str(raw, "raw-unicode-escape")
        # PERSID
        try:
            pid = raw.decode("ascii")
        except UnicodeDecodeError:
            raise UnpicklingError(
                "persistent IDs in protocol 0 must be ASCII strings"
            ) from None
        return self._persistent(pid)


def _has_dict_protocol(obj: object) -> bool:
    return (
        semantics.protocol_method(obj, "py_dict_set") is not None
        or semantics.protocol_method(obj, "py_setattr") is not None
    )


def _is_seekable(f: Any) -> bool:
    try:
        return bool(f.seekable()) and f.tell() >= 0
    except Exception:
        return False
