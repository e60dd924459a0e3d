"""An iterative JSON writer: ``json.dump`` recurses, so deep trees overflow it.

Accepts what :func:`emulpickle.to_builtins` returns (dict with str keys,
list, str, int, float, bool, None) at any nesting depth.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import IO

__all__ = ["dump", "iter_json"]

#: Deeper levels are indented as this one (deep trees stay linear in size).
MAX_INDENT_LEVEL = 32

_scalar = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


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


def dump(
    obj: object,
    stream: IO[str],
    indent: int | None = None,
    replace: Callable[[dict[str, object]], object] | None = None,
) -> None:
    """Write ``obj`` as JSON to ``stream``, followed by a newline."""
    buffer: list[str] = []
    size = 0
    for piece in iter_json(obj, indent, replace):
        buffer.append(piece)
        size += len(piece)
        if size > 1 << 16:
            stream.write("".join(buffer))
            buffer.clear()
            size = 0
    buffer.append("\n")
    stream.write("".join(buffer))
