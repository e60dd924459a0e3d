"""joblib files for the scanner: array data inside the pickle stream, compression.

``joblib.dump`` pickles each numpy array as a
``joblib.numpy_pickle.NumpyArrayWrapper`` (NEWOBJ, then BUILD with a dict of
the array's subclass, shape, order, dtype, allow_mmap and, since joblib 1.2,
numpy_array_alignment_bytes) and writes the array itself into the stream
right after that BUILD, where ``joblib.load`` reads it back: a padding-length
byte and that much padding when the alignment attribute is set, then the raw
bytes; or, for a dtype holding Python objects, a nested pickle.

:func:`walk` walks such a pickle like the plain walker, recording the same
globals, but also follows the values the pickle builds (constants, tuples,
dicts, globals, dtypes and wrapper objects) just far enough to know each
wrapper's shape, dtype and padding. It skips the raw bytes, walks nested
pickles, and raises :class:`Broken` whenever it cannot be sure where the
array data ends: a state it cannot follow, a dtype outside what numpy
writes, or a wrapper (or its class) that reaches code it does not model.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import Any

from .._render import bounded_repr
from ..machine.opcodes import (
    APPEND,
    BINFLOAT,
    BINGET,
    BININT,
    BININT1,
    BININT2,
    BINPUT,
    BINSTRING,
    BINUNICODE,
    BINUNICODE8,
    BUILD,
    DICT,
    DUP,
    EMPTY_DICT,
    EMPTY_LIST,
    EMPTY_SET,
    EMPTY_TUPLE,
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
    POP,
    POP_MARK,
    PROTO,
    PUT,
    REDUCE,
    SETITEM,
    SETITEMS,
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
from .walk import (
    BUILD_VIA,
    COUNTED,
    EXT_SIZES,
    FIXED_POPS,
    JOBLIB_WRAPPER,
    LINE_PUSH,
    MARK_POPPERS,
    Broken,
    Refs,
    as_name,
    counted,
    cross,
    ext_key,
    line,
    memo_get,
    memo_put,
    planted_name,
    record,
    string_value,
    text_index,
    unicode_value,
)
from .walk import walk as plain_walk

__all__ = ["ArrayData", "walk"]

_INT64_MAX = (1 << 63) - 1
_C_INT_MIN, _C_INT_MAX = -(1 << 31), (1 << 31) - 1
_DTYPE_NAMES = {
    "numpy.dtype",
    "numpy.core.multiarray.dtype",
    "numpy._core.multiarray.dtype",
}
_OBJECT_NAMES = {"builtins.object", "__builtin__.object"}
# The wrapper's __init__ parameters, with their defaults from the third on.
_INIT_NAMES = ("subclass", "shape", "order", "dtype")
_INIT_DEFAULTS = (("allow_mmap", False), ("numpy_array_alignment_bytes", 16))
_ATTRIBUTES = frozenset(_INIT_NAMES + tuple(k for k, _ in _INIT_DEFAULTS))
# The attributes that decide where the array data ends.
_STATE_KEYS = ("shape", "dtype", "numpy_array_alignment_bytes", "allow_mmap")
# numpy's own spelling of a dtype in its pickle: kind and size, no byte order.
_TYPESTR = re.compile(r"([biufcmMOSUV])([0-9]{1,10})")
_SIZES = {
    "b": (1,),
    "i": (1, 2, 4, 8),
    "u": (1, 2, 4, 8),
    "f": (2, 4, 8, 12, 16),
    "c": (8, 16, 24, 32),
    "m": (8,),
    "M": (8,),
    "O": (4, 8),
}
_LOST = (
    "a joblib array wrapper reaches code the scanner does not follow, "
    "so where its array data lies is unknown"
)


class ArrayData:
    """Where one array's data lies in a joblib stream (offsets in it).

    Attributes:
        cut: where the bytes that are not pickle opcodes start (the padding
            length byte, when the array is aligned).
        start: where the array's own bytes (or its nested pickle) start.
        end: where they end: the pickle resumes there.
        objects: True when they are a nested pickle (a dtype holding objects).
    """

    __slots__ = ("cut", "end", "objects", "start")

    def __init__(self, cut: int, start: int, end: int, objects: bool) -> None:
        self.cut = cut
        self.start = start
        self.end = end
        self.objects = objects


class _Opaque:
    """A value the walker does not follow."""

    __slots__ = ()


class _WrapperClass:
    """The global ``joblib.numpy_pickle.NumpyArrayWrapper``."""

    __slots__ = ()


OPAQUE = _Opaque()
WRAPPER_CLASS = _WrapperClass()
_UNBUILT = _Opaque()


class _Global:
    """Any other global."""

    __slots__ = ("qualname",)

    def __init__(self, module: str, name: str) -> None:
        self.qualname = f"{module}.{name}"


class _Wrapper:
    """A NumpyArrayWrapper instance: the attributes that decide its layout."""

    __slots__ = ("attrs",)

    def __init__(self, attrs: dict[str, object]) -> None:
        self.attrs = attrs


class _HotTuple:
    """A tuple holding a wrapper or its class."""

    __slots__ = ("items",)

    def __init__(self, items: tuple[object, ...]) -> None:
        self.items = items


class _Dict:
    """A dict; ``tainted`` once a key the walker cannot follow went in."""

    __slots__ = ("items", "tainted")

    def __init__(self) -> None:
        self.items: dict[object, object] = {}
        self.tainted = False


class _DType:
    """``numpy.dtype(*args)``, and the state of its last BUILD."""

    __slots__ = ("args", "state")

    def __init__(self, args: object) -> None:
        self.args = args
        self.state: object = _UNBUILT

    def layout(self, start: int) -> tuple[int, bool]:
        """Item size and whether items are Python objects, as numpy builds them."""
        args = self.args
        if type(args) is not tuple or len(args) != 3:
            raise Broken("joblib array: a dtype the scanner cannot follow", start)
        typestr, align, copy = args
        match = _TYPESTR.fullmatch(typestr) if isinstance(typestr, str) else None
        # Without copy, numpy hands out its shared dtype and ignores BUILD.
        if match is None or type(align) not in (bool, int) or copy not in (True, 1):
            raise Broken("joblib array: a dtype the scanner cannot follow", start)
        kind, size = match.group(1), int(match.group(2))
        if kind in "SUV":
            itemsize = size * 4 if kind == "U" else size
        elif size in _SIZES[kind]:
            itemsize = size
        else:
            raise Broken(
                f"joblib array: unsupported dtype {bounded_repr(typestr)}", start
            )
        state = self.state
        if state is _UNBUILT:
            return itemsize, kind == "O"
        numbers = (
            [
                n
                for n in (state[i] for i in (0, 5, 6, 7))
                if isinstance(n, int) and _C_INT_MIN <= n <= _C_INT_MAX
            ]
            if type(state) is tuple and len(state) in (8, 9)
            else []
        )
        if len(numbers) != 4 or numbers[0] not in (3, 4):
            raise Broken("joblib array: a dtype state the scanner cannot follow", start)
        # numpy takes the flags as they are and, for flexible kinds, the size.
        if kind in "SUV":
            itemsize = numbers[1]
        objects = bool(numbers[3] & 1)
        if itemsize <= 0 and not objects:
            raise Broken(f"joblib array: dtype item size {itemsize}", start)
        return itemsize, objects


_HOT = frozenset({_WrapperClass, _Wrapper, _HotTuple})
_KEY_TYPES = (str, int, bool, bytes, type(None))


def _global(module: str | None, name: str | None) -> object:
    if module is None or name is None:
        return OPAQUE
    if f"{module}.{name}" == JOBLIB_WRAPPER:
        return WRAPPER_CLASS
    return _Global(module, name)


def _tuple(items: list[object] | tuple[object, ...]) -> object:
    value = tuple(items)
    return value if _HOT.isdisjoint(map(type, value)) else _HotTuple(value)


def _settled(target: object) -> object:
    """A container after an opcode changed it: names no longer (as the plain walker)."""
    return OPAQUE if isinstance(target, (str, bytes)) else target


def _text(raw: bytes) -> object:
    """A Python 2 string as joblib's unpickler decodes it (ASCII)."""
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return raw


def _unicode(raw: bytes) -> object:
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return raw  # the plain walker's name for it, decoded the same way


def _int(raw: bytes, op: int) -> object:
    if op == INT and raw in (b"00", b"01"):
        return raw == b"01"
    if op == LONG and raw.endswith(b"L"):
        raw = raw[:-1]
    if len(raw) > 64:
        return OPAQUE
    try:
        return int(raw, 0)
    except ValueError:
        return OPAQUE


def _truth(value: object) -> bool | None:
    """``bool(value)``, or None when the walker cannot tell."""
    if value is None or type(value) in (bool, int, str, bytes, tuple):
        return bool(value)
    if type(value) is _Dict:
        return True if value.items else (None if value.tainted else False)
    return None


def _count(shape: object, start: int) -> int:
    """How many items joblib reads for ``shape``."""
    if type(shape) is not tuple:
        raise Broken("joblib array: a shape the scanner cannot follow", start)
    count = 1
    for dim in shape:
        if not isinstance(dim, int) or not 0 <= dim <= _INT64_MAX:
            raise Broken(f"joblib array: bad dimension {bounded_repr(dim)}", start)
        count *= dim
    if count > _INT64_MAX:
        raise Broken("joblib array: too many items", start)
    return count


class _Walk:
    """One pickle as joblib's unpickler reads it."""

    def __init__(
        self,
        data: Any,
        end: int,
        refs: Refs,
        arrays: list[ArrayData] | None = None,
    ) -> None:
        self.data = data
        self.end = end
        self.refs = refs
        self.arrays = arrays
        self.stack: list[object] = []
        self.marks: list[int] = []
        self.memo: list[object] = []
        self.sparse: dict[int, object] | None = None
        self.proto = 0
        self.frame_end = -1
        self.lost = False

    # ----------------------------------------------------------- the stream

    def _limit(self) -> int:
        return self.frame_end if self.frame_end >= 0 else self.end

    def _reach(self, start: int, pos: int, header: int = 1) -> int:
        """Check a read up to ``pos`` against the frame and the data; returns pos."""
        if pos > (self.frame_end if self.frame_end >= 0 else self.end):
            cross(start, pos, self.frame_end, self.end, header)
            self.frame_end = -1
        return pos

    def _line(self, pos: int, start: int) -> tuple[bytes, int]:
        raw, after = line(self.data, pos, self.end, start, self.frame_end)
        if after > self._limit():
            self.frame_end = -1
        return raw, after

    def run(self, pos: int) -> int:
        handlers = _HANDLERS
        data = self.data
        end = self.end
        start = pos
        try:
            while True:
                if pos >= (self.frame_end if self.frame_end >= 0 else end):
                    if pos >= end:  # no opcode where one must be
                        raise Broken("pickle data was truncated", pos)
                    self.frame_end = -1
                start = pos
                op = data[pos]
                if op == STOP:
                    self._need(1, start)
                    return pos + 1
                handler = handlers[op]
                if handler is None:
                    raise Broken(f"invalid load key, {bytes([op])!r}", start)
                pos = handler(self, op, pos)
        except (IndexError, struct.error):
            raise Broken("pickle data was truncated", start) from None

    # ------------------------------------------------------------ the stack

    def _need(self, n: int, start: int) -> None:
        if len(self.stack) - (self.marks[-1] if self.marks else 0) < n:
            raise Broken("stack underflow", start)

    def _pop(self, n: int, start: int) -> list[object]:
        self._need(n, start)
        values = self.stack[len(self.stack) - n :]
        del self.stack[len(self.stack) - n :]
        return values

    def _pop_mark(self, start: int) -> list[object]:
        if not self.marks:
            raise Broken("could not find MARK", start)
        k = self.marks.pop()
        items = self.stack[k:]
        del self.stack[k:]
        return items

    def _escape(self, *values: object) -> None:
        """Values passed to code the walker does not model."""
        if not _HOT.isdisjoint(map(type, values)):
            self.lost = True

    # -------------------------------------------------------------- opcodes

    def _simple(self, op: int, pos: int) -> int:
        value = _SIMPLE[op]
        self.stack.append(_Dict() if value is _Dict else value)
        return pos + 1

    def _binint(self, op: int, pos: int) -> int:
        width, fmt = _BININTS[op]
        after = self._reach(pos, pos + width)
        self.stack.append(struct.unpack(fmt, self.data[pos + 1 : after])[0])
        return after

    def _binfloat(self, op: int, pos: int) -> int:
        self.stack.append(OPAQUE)
        return self._reach(pos, pos + 9)

    def _counted(self, op: int, pos: int) -> int:
        after = counted(self.data, pos, self.end, self.frame_end, op)
        if after > self._limit():
            self.frame_end = -1
        payload = bytes(self.data[pos + 1 + COUNTED[op][0] : after])
        self.stack.append(_counted_value(op, payload))
        return after

    def _mark(self, op: int, pos: int) -> int:
        self.marks.append(len(self.stack))
        return pos + 1

    def _frame(self, op: int, pos: int) -> int:
        after = pos + 9
        if after > self._limit():
            self._reach(pos, after)
        elif self.frame_end > after:
            raise Broken("beginning of a new frame before end of current frame", pos)
        n = struct.unpack("<Q", self.data[pos + 1 : after])[0]
        if n > self.end - after:
            raise Broken("pickle data was truncated", pos)
        self.frame_end = after + n
        return after

    def _proto(self, op: int, pos: int) -> int:
        after = self._reach(pos, pos + 2)
        self.proto = self.data[pos + 1]
        if self.proto > 5:
            raise Broken(f"unsupported pickle protocol: {self.proto}", pos)
        return after

    def _stack_global(self, op: int, pos: int) -> int:
        module_value, name_value = self._pop(2, pos)
        self._escape(module_value, name_value)
        module, name = as_name(module_value), as_name(name_value)
        record(self.refs, module, name, "STACK_GLOBAL", self.proto < 3, pos)
        self.stack.append(_global(module, name))
        return pos + 1

    def _global_line(self, op: int, pos: int) -> int:
        """GLOBAL, INST."""
        first, after = self._line(pos + 1, pos)
        second, after = self._line(after, pos)
        module = first.decode("utf-8", "surrogateescape")
        name = second.decode("utf-8", "surrogateescape")
        via = "GLOBAL" if op == GLOBAL else "INST"
        record(self.refs, module, name, via, self.proto < 3, pos)
        cls = _global(module, name)
        if op == INST:
            cls = self._instantiate(cls, self._pop_mark(pos))
        self.stack.append(cls)
        return after

    def _text(self, op: int, pos: int) -> int:
        """INT, LONG, FLOAT, PERSID, STRING, UNICODE."""
        raw, after = self._line(pos + 1, pos)
        self.stack.append(_line_value(op, raw))
        return after

    def _ext(self, op: int, pos: int) -> int:
        size, fmt = EXT_SIZES[op]
        after = self._reach(pos, pos + 1 + size)
        module, name = ext_key(struct.unpack(fmt, self.data[pos + 1 : after])[0])
        record(self.refs, module, name, f"EXT{size}", False, pos)
        self.stack.append(_global(module, name))
        return after

    def _obj(self, op: int, pos: int) -> int:
        items = self._pop_mark(pos)
        if not items:
            raise Broken("stack underflow", pos)
        self.stack.append(self._instantiate(items[0], items[1:]))
        return pos + 1

    def _pop_one(self, op: int, pos: int) -> int:
        """POP: the top value, or else the topmost MARK and what follows it."""
        if len(self.stack) > (self.marks[-1] if self.marks else 0):
            self.stack.pop()
        elif self.marks:
            self._pop_mark(pos)
        else:
            raise Broken("stack underflow", pos)
        return pos + 1

    def _dup(self, op: int, pos: int) -> int:
        self._need(1, pos)
        self.stack.append(self.stack[-1])
        return pos + 1

    def _memoize(self, op: int, pos: int) -> int:
        stack = self.stack
        if len(stack) <= (self.marks[-1] if self.marks else 0):
            raise Broken("stack underflow", pos)
        if self.sparse is None:
            self.memo.append(stack[-1])
        else:
            self.sparse[len(self.sparse)] = stack[-1]
        return pos + 1

    def _binget(self, op: int, pos: int) -> int:
        after = self._reach(pos, pos + 2)
        value = memo_get(self.memo, self.sparse, self.data[pos + 1], pos)
        self.stack.append(value)
        return after

    def _memo(self, op: int, pos: int) -> int:
        """GET, PUT and their other binary forms."""
        start = pos
        if op in (GET, PUT):
            raw, pos = self._line(pos + 1, start)
            index = text_index(raw, start)
        else:
            pos = self._reach(start, pos + (2 if op in (BINGET, BINPUT) else 5))
            raw = bytes(self.data[start + 1 : pos])
            index = raw[0] if len(raw) == 1 else struct.unpack("<I", raw)[0]
        if op in (GET, BINGET, LONG_BINGET):
            self.stack.append(memo_get(self.memo, self.sparse, index, start))
        else:
            self._need(1, start)
            self.sparse = memo_put(self.memo, self.sparse, index, self.stack[-1])
        return pos

    def _mark_op(self, op: int, pos: int) -> int:
        """The opcodes that take everything above the topmost MARK."""
        items = self._pop_mark(pos)
        if op == TUPLE:
            self.stack.append(_tuple(items))
        elif op in (LIST, FROZENSET):
            self._escape(*items)
            self.stack.append(OPAQUE)
        elif op == DICT:
            value = _Dict()
            self._set_items(value, items)
            self.stack.append(value)
        elif op != POP_MARK:  # APPENDS, SETITEMS, ADDITEMS: into what is below
            self._need(1, pos)
            target = self.stack[-1]
            if op == SETITEMS and type(target) is _Dict:
                self._set_items(target, items)
            else:
                self._escape(target, *items)
            self.stack[-1] = _settled(target)
        return pos + 1

    def _set_items(self, target: _Dict, items: list[object]) -> None:
        self._escape(*items)
        if len(items) % 2:
            target.tainted = True
        for i in range(0, len(items) - 1, 2):
            key = items[i]
            # Only keys that cannot flood the dict with one hash: not ints
            # like k * (2**61 - 1), which all hash alike.
            if type(key) in _KEY_TYPES and (
                type(key) is not int or key.bit_length() < 61
            ):
                target.items[key] = items[i + 1]
            else:
                target.tainted = True

    def _pop_op(self, op: int, pos: int) -> int:
        """The opcodes that take a fixed number of values."""
        start = pos
        need = FIXED_POPS[op]
        values = self._pop(need, start)
        push = self.stack.append
        if op in (TUPLE1, TUPLE2, TUPLE3):
            push(_tuple(values))
        elif op == REDUCE:
            push(self._call(values[0], values[1]))
        elif op in (NEWOBJ, NEWOBJ_EX):
            if values[0] is WRAPPER_CLASS:  # object.__new__: the arguments go unused
                self._escape(*values[1:])
                push(_Wrapper({}))
            else:
                self._escape(*values)
                push(OPAQUE)
        elif op in (APPEND, SETITEM):
            target = values[0]
            if op == SETITEM and type(target) is _Dict:
                self._set_items(target, values[1:])
            else:
                self._escape(*values)
            push(_settled(target))
        elif op == BUILD:
            push(values[0])
            return self._build(values[0], values[1], start, pos + 1)
        else:  # BINPERSID, READONLY_BUFFER
            self._escape(*values)
            push(OPAQUE)
        return pos + 1

    # ------------------------------------------------------- what is called

    def _call(self, func: object, args: object) -> object:
        if func is WRAPPER_CLASS:
            return self._construct(args)
        if type(func) is _Global:
            if func.qualname in _DTYPE_NAMES:
                self._escape(args)
                return _DType(args)
            if type(args) is _HotTuple and func.qualname in _MAKERS:
                return self._make(func.qualname, args.items)
        self._escape(func, args)
        return OPAQUE

    def _construct(self, args: object) -> object:
        """``NumpyArrayWrapper(*args)``."""
        if type(args) is not tuple or not len(_INIT_NAMES) <= len(args) <= 6:
            self.lost = True
            return OPAQUE
        names = _INIT_NAMES + tuple(k for k, _ in _INIT_DEFAULTS)
        attrs = dict(zip(names, args, strict=False))
        for key, default in _INIT_DEFAULTS:
            attrs.setdefault(key, default)
        return _Wrapper(attrs)

    def _make(self, maker: str, items: tuple[object, ...]) -> object:
        """copyreg's helpers, called with the wrapper class: an empty wrapper."""
        arity = _MAKERS[maker]
        fits = items[0] is WRAPPER_CLASS and (arity is None or len(items) == arity)
        if fits and maker.endswith("_reconstructor"):
            base = items[1]
            fits = type(base) is _Global and base.qualname in _OBJECT_NAMES
        if fits and _HOT.isdisjoint(map(type, items[1:])):
            return _Wrapper({})
        self.lost = True
        return OPAQUE

    def _instantiate(self, cls: object, args: list[object]) -> object:
        """INST and OBJ: ``cls(*args)``, or ``cls.__new__(cls)`` without args."""
        if cls is WRAPPER_CLASS:
            return self._construct(_tuple(args)) if args else _Wrapper({})
        self._escape(cls, *args)
        return OPAQUE

    def _build(self, target: object, state: object, start: int, pos: int) -> int:
        if type(target) is _Wrapper:
            if self.lost:
                raise Broken(_LOST, start)
            _set_state(target, state, start)
            self.stack[-1] = OPAQUE  # joblib puts the array in its place
            return self._skip_array(target, start, pos)
        if target is WRAPPER_CLASS:
            raise Broken("a BUILD changes joblib's array wrapper class", start)
        if target is OPAQUE and self.lost:
            raise Broken(_LOST, start)
        if type(target) is _DType:
            target.state = state
        else:
            self._check_state(state, start)
        self._escape(state)
        self.stack[-1] = _settled(target)
        return pos

    def _check_state(self, state: object, start: int) -> None:
        """What a BUILD state plants, as the plain walker's ``Dicts.check_state``
        judges it: here ``OPAQUE`` stands for whatever a call made."""
        if type(state) is tuple and len(state) == 2:
            first, second = state
            for part, other in ((first, second), (second, first)):
                if type(part) is _Dict or (
                    part is OPAQUE and (other is None or type(other) is _Dict)
                ):
                    self._check_dict(part, start)
        else:
            self._check_dict(state, start)

    def _check_dict(self, state: object, start: int) -> None:
        if type(state) is _Dict:
            for key in state.items:
                name = planted_name(key)
                if name is not None:
                    record(self.refs, None, name, BUILD_VIA, False, start)
                    break
            if not state.tainted:
                return
        elif state is not OPAQUE:
            return
        record(self.refs, None, None, BUILD_VIA, False, start)

    def _skip_array(self, wrapper: _Wrapper, start: int, pos: int) -> int:
        """Where the array data joblib reads after the wrapper's BUILD ends."""
        if self.frame_end > pos:
            # joblib reads the array from the file, past the buffered frame.
            raise Broken("joblib array data inside a pickle frame", start)
        self.frame_end = -1
        attrs = wrapper.attrs
        count = _count(attrs.get("shape"), start)
        dtype = attrs.get("dtype")
        if type(dtype) is not _DType:
            raise Broken("joblib array: a dtype the scanner cannot follow", start)
        itemsize, objects = dtype.layout(start)
        if objects:
            if _truth(attrs.get("allow_mmap", False)) is not False:
                # With mmap_mode, joblib would map object pointers from the
                # file instead of reading a pickle (joblib never writes this).
                raise Broken("joblib array: objects marked for memory-mapping", start)
            try:
                after = plain_walk(self.data, pos, self.end, self.refs, nested=True)
            except Broken as exc:
                raise Broken(f"object array pickle: {exc.reason}", exc.offset) from None
            self._found(ArrayData(pos, pos, after, True))
            return after
        align = attrs.get("numpy_array_alignment_bytes")
        if align is OPAQUE:
            raise Broken("joblib array: unknown alignment", start)
        cut = pos
        if align is not None:  # a padding length byte, then the padding
            if pos >= self.end:
                raise Broken("joblib array data runs past the end of the data", start)
            pos += 1 + self.data[pos]
        after = pos + count * itemsize
        if after > self.end:
            raise Broken("joblib array data runs past the end of the data", start)
        self._found(ArrayData(cut, pos, after, False))
        return after

    def _found(self, array: ArrayData) -> None:
        if self.arrays is not None:
            self.arrays.append(array)


def _set_state(wrapper: _Wrapper, state: object, start: int) -> None:
    """BUILD on a wrapper: its ``__dict__`` (and slot) state, as pickle sets it.

    Only the wrapper's own data attributes may be set: any other name could
    replace one of its methods (``read``, say) or add a ``__setstate__``.
    """
    slots: object = None
    if type(state) is tuple and len(state) == 2:
        state, slots = state
    for part in (state, slots):
        truth = _truth(part)
        if truth is False:
            continue
        if truth is None or type(part) is not _Dict or part.tainted:
            raise Broken(
                "joblib array: a wrapper state the scanner cannot follow", start
            )
        if len(part.items) > len(_ATTRIBUTES) or not _ATTRIBUTES.issuperset(part.items):
            raise Broken("joblib array: a wrapper state with other attributes", start)
        for key in _STATE_KEYS:
            if key in part.items:
                wrapper.attrs[key] = part.items[key]


def _counted_value(op: int, payload: bytes) -> object:
    if op in (SHORT_BINUNICODE, BINUNICODE, BINUNICODE8):  # unicode
        return _unicode(payload)
    if op in (SHORT_BINSTRING, BINSTRING):  # Python 2 strings
        return _text(payload)
    if (op in (LONG1, LONG4)) and len(payload) <= 16:
        return int.from_bytes(payload, "little", signed=True)
    return OPAQUE


def _line_value(op: int, raw: bytes) -> object:
    if op == STRING:
        value = string_value(raw)
        return OPAQUE if value is None else _text(value)
    if op == UNICODE:
        text = unicode_value(raw)
        return OPAQUE if text is None else text
    if op in (INT, LONG):
        return _int(raw, op)
    return OPAQUE  # FLOAT, PERSID


# One-byte opcodes that push a constant (a factory for a new mutable one).
_SIMPLE: dict[int, object] = {
    NONE: None, NEWTRUE: True, NEWFALSE: False, EMPTY_TUPLE: (), EMPTY_DICT: _Dict,
    EMPTY_LIST: OPAQUE, EMPTY_SET: OPAQUE, NEXT_BUFFER: OPAQUE,
}  # fmt: skip
_BININTS = {BININT: (5, "<i"), BININT1: (2, "<B"), BININT2: (3, "<H")}
_Handler = Callable[[_Walk, int, int], int]
_HANDLERS: list[_Handler | None] = [None] * 256
for _ops, _handler in (
    (_SIMPLE, _Walk._simple),
    (_BININTS, _Walk._binint),
    ((BINFLOAT,), _Walk._binfloat),
    (COUNTED, _Walk._counted),
    ((MEMOIZE,), _Walk._memoize),
    ((BINGET,), _Walk._binget),
    ((GET, PUT, LONG_BINGET, BINPUT, LONG_BINPUT), _Walk._memo),
    ((MARK,), _Walk._mark),
    (MARK_POPPERS, _Walk._mark_op),
    (FIXED_POPS, _Walk._pop_op),
    ((FRAME,), _Walk._frame),
    ((PROTO,), _Walk._proto),
    ((STACK_GLOBAL,), _Walk._stack_global),
    ((GLOBAL, INST), _Walk._global_line),
    ((*LINE_PUSH, STRING, UNICODE), _Walk._text),
    (EXT_SIZES, _Walk._ext),
    ((OBJ,), _Walk._obj),
    ((POP,), _Walk._pop_one),
    ((DUP,), _Walk._dup),
):
    for _op in _ops:
        _HANDLERS[_op] = _handler
# copyreg's helpers that make an instance of their first argument: arity.
_MAKERS: dict[str, int | None] = {
    "copyreg._reconstructor": 3,
    "copy_reg._reconstructor": 3,
    "copyreg.__newobj__": None,
    "copy_reg.__newobj__": None,
    "copyreg.__newobj_ex__": 3,
}


def walk(
    data: Any, pos: int, end: int, refs: Refs, arrays: list[ArrayData] | None = None
) -> int:
    """Walk one pickle in ``data[pos:end]`` as ``joblib.load`` reads it.

    Records globals into ``refs`` (nested object-array pickles included) and
    returns the offset after STOP; raises :class:`Broken`. When ``arrays``
    is a list, each array's data found in the stream is appended to it, in
    stream order (what :mod:`emulpickle.files.joblib` cuts out to load the
    pickle around it).
    """
    return _Walk(data, end, refs, arrays).run(pos)
