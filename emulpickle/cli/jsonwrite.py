"""JSON writers that stream: nothing builds the whole text in memory.

:func:`dump` is iterative (``json.dump`` recurses, so deep trees overflow
it) and accepts what :func:`emulpickle.to_builtins` returns (dict with str
keys, list, str, int, float, bool, None) at any nesting depth, plus
:class:`RawJson` pieces produced as they are written (tensor data).
:func:`dump_plain` writes the same text for plain trees (see
:func:`is_plain`) with the C encoder of the json module, batch by batch.
"""

from __future__ import annotations

import itertools
import json
import math
import operator
from collections.abc import Callable, Iterable, Iterator
from json import encoder as _encoder
from typing import IO, Any

__all__ = ["RawJson", "c_encoder", "dump", "dump_plain", "is_plain", "iter_json"]

#: The json module's C encoder factory (None on Pythons without ``_json``).
_C_MAKE_ENCODER: Any = getattr(_encoder, "c_make_encoder", None)


def c_encoder(key_sep: str, item_sep: str) -> Callable[[object, int], list[str]]:
    """The json module's C encoder with these separators, ensure_ascii off,
    no cycle check (callers pass trees), nan refused; ``encode(obj, 0)``
    gives the text in pieces. Needs ``_json`` (see :func:`is_plain`)."""
    encode: Callable[[object, int], list[str]] = _C_MAKE_ENCODER(
        None,
        None,
        _encoder.encode_basestring,
        None,
        key_sep,
        item_sep,
        False,
        False,
        False,
    )
    return encode


#: Deeper levels are indented as this one (deep trees stay linear in size).
MAX_INDENT_LEVEL = 32

_scalar = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


class RawJson:
    """JSON text to write as it is, produced while it is written.

    ``pieces(level)`` is called once, with the nesting level the value is
    written at, and yields the text in pieces.
    """

    __slots__ = ("pieces",)

    def __init__(self, pieces: Callable[[int], Iterable[str]]) -> None:
        self.pieces = pieces


class _Open:
    """A value still to be written, at a nesting level."""

    __slots__ = ("level", "value")

    def __init__(self, value: object, level: int) -> None:
        self.value = value
        self.level = level


def iter_json(
    obj: object,
    indent: int | None = None,
    replace: Callable[[dict[str, object]], object] | None = None,
) -> Iterator[str]:
    """The JSON text of ``obj`` in pieces; no recursion.

    ``replace`` may swap a dict for another value as it is written (it returns
    the dict itself to keep it).
    """
    stack: list[object] = [_Open(obj, 0)]
    item_sep = ","
    key_sep = ":" if indent is None else ": "

    def newline(level: int) -> str:
        if indent is None:
            return ""
        return "\n" + " " * (indent * min(level, MAX_INDENT_LEVEL))

    while stack:
        top = stack.pop()
        if isinstance(top, str):
            yield top
            continue
        assert isinstance(top, _Open)
        value, level = top.value, top.level
        if replace is not None and isinstance(value, dict):
            value = replace(value)
        if isinstance(value, RawJson):
            yield from value.pieces(level)
            continue
        if isinstance(value, dict):
            if not value:
                yield "{}"
                continue
            pending: list[object] = []
            for i, (key, item) in enumerate(value.items()):
                sep = "" if i == 0 else item_sep
                pending.append(sep + newline(level + 1) + _scalar(str(key)) + key_sep)
                pending.append(_Open(item, level + 1))
            pending.append(newline(level) + "}")
            yield "{"
            stack.extend(reversed(pending))
        elif isinstance(value, (list, tuple)):
            if not value:
                yield "[]"
                continue
            pending = []
            for i, item in enumerate(value):
                pending.append(("" if i == 0 else item_sep) + newline(level + 1))
                pending.append(_Open(item, level + 1))
            pending.append(newline(level) + "]")
            yield "["
            stack.extend(reversed(pending))
        else:
            yield _scalar(value)


def _write_pieces(pieces: Iterable[str], stream: IO[str]) -> None:
    """Write ``pieces`` and a newline to ``stream``, about 64 KiB at a time."""
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size > 1 << 16:
            stream.write("".join(buffer))
            buffer.clear()
            size = 0
    buffer.append("\n")
    stream.write("".join(buffer))


def dump(
    obj: object,
    stream: IO[str],
    indent: int | None = None,
    replace: Callable[[dict[str, object]], object] | None = None,
) -> None:
    """Write ``obj`` as JSON to ``stream``, followed by a newline."""
    if replace is None and is_plain(obj, encoded=True):
        dump_plain(obj, stream, indent)
        return
    _write_pieces(iter_json(obj, indent, replace), stream)


# ------------------------------------------------------------ plain trees
#
# A tree of plain values (dict with str keys, list, tuple, str, int, finite
# float, bool, None; nothing reached twice) needs no encoding by
# emulpickle.to_builtins: it is its own encoding. Such a tree is checked
# level by level with bulk operations (map, compress, set) that run at C
# speed, and written by the json module's C encoder: a list of a million
# records costs what the C encoder costs, not a Python step per value.

_SCALARS = frozenset({str, int, float, bool, type(None)})
_CONTAINERS = frozenset({dict, list, tuple})
_PLAIN = _SCALARS | _CONTAINERS
#: Deeper plain trees are written by :func:`iter_json` (the C encoder
#: recurses, and Python's recursion limit is about 1000).
MAX_PLAIN_DEPTH = 200
#: ``str`` at least this long and ints longer than this many bits are
#: tracked or encoded otherwise by ``to_builtins`` (see emulpickle.convert).
SHARE_MIN_LEN = 64
BIG_INT_BITS = 14_000
#: Items encoded per call of the C encoder when streaming a list or dict.
BATCH = 2048

_is_dollar = operator.methodcaller("startswith", "$")


def _of_type(values: list[Any], types: list[type], kind: type) -> list[Any]:
    return list(
        itertools.compress(values, map(operator.is_, types, itertools.repeat(kind)))
    )


_NUMBERS = frozenset({int, float})


def _numbers_plain(values: list[Any], types: list[type]) -> bool:
    """Whether the ints and floats among ``values`` are written as they are:
    floats finite, ints of at most :data:`BIG_INT_BITS` bits."""
    kinds = itertools.repeat(_NUMBERS)
    numbers = list(itertools.compress(values, map(operator.contains, kinds, types)))
    try:
        # One pass for both: an int over 1024 bits overflows a float.
        return all(map(math.isfinite, numbers))
    except OverflowError:
        pass
    floats = _of_type(values, types, float)
    ints = _of_type(values, types, int)
    return all(map(math.isfinite, floats)) and (
        not ints or max(map(int.bit_length, ints)) <= BIG_INT_BITS
    )


def is_plain(root: object, *, encoded: bool = False) -> bool:
    """Whether ``root`` is a plain tree that :func:`dump_plain` writes.

    Plain: dicts with str keys, lists, tuples, str, int, finite float,
    bool and None only (exact types), at most :data:`MAX_PLAIN_DEPTH`
    levels, no container reached twice (no sharing, no cycle). Unless
    ``encoded`` (the tree is ``to_builtins`` output already), also what
    ``to_builtins`` would write differently: keys starting with ``$``,
    long strings reached twice, ints over 14,000 bits.
    """
    if _C_MAKE_ENCODER is None:  # pragma: no cover - Python without _json
        return False
    seen: set[int] = set()
    frontier: list[Any] = [root]
    for _ in range(MAX_PLAIN_DEPTH + 1):
        types = list(map(type, frontier))
        kinds = set(types)
        if not kinds <= _PLAIN:
            return False
        strs = _of_type(frontier, types, str) if str in kinds else []
        if not encoded and strs and max(map(len, strs)) >= SHARE_MIN_LEN:
            longs = [s for s in strs if len(s) >= SHARE_MIN_LEN]
            before = len(seen)
            seen.update(map(id, longs))
            if len(seen) != before + len(longs):
                return False
        if kinds & _NUMBERS and not _numbers_plain(frontier, types):
            return False
        if not kinds & _CONTAINERS:
            return True
        dicts = _of_type(frontier, types, dict) if dict in kinds else []
        sequences = [
            *(_of_type(frontier, types, list) if list in kinds else []),
            # The empty tuple is one shared object, which to_builtins
            # writes as [] wherever it is.
            *filter(None, _of_type(frontier, types, tuple) if tuple in kinds else []),
        ]
        containers = dicts + sequences
        before = len(seen)
        seen.update(map(id, containers))
        if len(seen) != before + len(containers):
            return False
        if dicts:
            keys = itertools.chain.from_iterable(dicts)
            if not set(map(type, keys)) <= {str}:
                return False
            # Keys repeat (a million records, three keys): look at each once.
            unique = set(itertools.chain.from_iterable(dicts))
            if not encoded and any(map(_is_dollar, unique)):
                return False
        frontier = list(itertools.chain.from_iterable(map(dict.values, dicts)))
        frontier.extend(itertools.chain.from_iterable(sequences))
    return False


class _PlainWriter:
    """Writes a plain tree (see :func:`is_plain`) with the C encoder."""

    def __init__(self, indent: int | None) -> None:
        self.indent = indent
        self.encoders: dict[int, Any] = {}

    def encoder(self, level: int) -> Any:
        """The C encoder whose item separator starts a line at ``level``."""
        found = self.encoders.get(level)
        if found is None:
            if self.indent is None:
                key_sep, item_sep = ":", ","
            else:
                key_sep, item_sep = ": ", "," + self.newline(level)
            found = c_encoder(key_sep, item_sep)
            self.encoders[level] = found
        return found

    def newline(self, level: int) -> str:
        if self.indent is None:
            return ""
        return "\n" + " " * (self.indent * min(level, MAX_INDENT_LEVEL))

    def flat(self, value: Any) -> bool:
        """A container of scalars only (written by one encoder call)."""
        items = value.values() if type(value) is dict else value
        return set(map(type, items)) <= _SCALARS

    def pieces(self, obj: object, level: int = 0) -> Iterator[str]:
        """The JSON text of ``obj`` at ``level``, a batch at a time."""
        kind = type(obj)
        if kind not in _CONTAINERS or not obj:
            yield from self.encoder(level)(obj, 0)
            return
        if self.indent is None:
            yield from self.compact(obj)
            return
        assert isinstance(obj, (dict, list, tuple))
        if self.flat(obj):
            yield self.wrap(obj, "".join(self.encoder(level + 1)(obj, 0)), level)
            return
        open_, close = ("{", "}") if kind is dict else ("[", "]")
        inner = self.newline(level + 1)
        yield open_ + inner
        if kind is dict:
            assert isinstance(obj, dict)
            key_encode = self.encoder(level)
            for i, (key, value) in enumerate(obj.items()):
                head = "" if i == 0 else "," + inner
                yield head + "".join(key_encode(key, 0)) + ": "
                yield from self.pieces(value, level + 1)
        else:
            assert isinstance(obj, (list, tuple))
            for start in range(0, len(obj), BATCH):
                batch = obj[start : start + BATCH]
                if start:
                    yield "," + inner
                yield from self.items(batch, level + 1)
        yield self.newline(level) + close

    def items(self, batch: Any, level: int) -> Iterator[str]:
        """The items of a list at ``level``, joined by list separators."""
        inner = "," + self.newline(level)
        kinds = set(map(type, batch))
        if kinds <= _SCALARS:
            text = "".join(self.encoder(level)(list(batch), 0))
            yield text[1:-1]
            return
        if (
            kinds == {dict}
            and min(map(len, batch)) > 0
            and set(map(type, itertools.chain.from_iterable(map(dict.values, batch))))
            <= _SCALARS
        ):
            # Records: every item one encoder call, then the braces put on
            # lines of their own in one pass over the text. A raw newline
            # is only ever in a separator (never in an encoded string), so
            # "}" + newline + this level's indent + "{" is only ever the
            # boundary between two records.
            encode = self.encoder(level + 1)
            text = inner.join(map("".join, map(encode, batch, itertools.repeat(0))))
            deeper = self.newline(level + 1)
            close = self.newline(level) + "}"
            text = text.replace("}" + inner + "{", close + inner + "{" + deeper)
            yield "{" + deeper + text[1:-1] + close
            return
        for i, item in enumerate(batch):
            if i:
                yield inner
            yield from self.pieces(item, level)

    def wrap(self, obj: Any, text: str, level: int) -> str:
        """A flat container's one-line encoding with its brackets on lines
        of their own."""
        return (
            text[0]
            + self.newline(level + 1)
            + text[1:-1]
            + self.newline(level)
            + text[-1]
        )

    def compact(self, obj: Any) -> Iterator[str]:
        encode = self.encoder(0)
        if type(obj) is dict:
            items = iter(obj.items())
            first = True
            while batch := dict(itertools.islice(items, BATCH)):
                text = "".join(encode(batch, 0))
                yield ("{" if first else ",") + text[1:-1]
                first = False
            yield "}"
            return
        for start in range(0, len(obj), BATCH):
            text = "".join(encode(list(obj[start : start + BATCH]), 0))
            yield ("[" if start == 0 else ",") + text[1:-1]
        yield "]"


def dump_plain(obj: object, stream: IO[str], indent: int | None = None) -> None:
    """Write a plain tree (see :func:`is_plain`) as JSON to ``stream``,
    followed by a newline; the same text :func:`dump` writes, faster."""
    _write_pieces(_PlainWriter(indent).pieces(obj), stream)
