"""The tree view of ``emulpickle show``: one line per value.

The walk is iterative (any nesting depth works) and shows each container
once: an object reached again is a reference to its first line (``&n``), so
shared subtrees cost what their distinct objects cost.
"""

from __future__ import annotations

import itertools
from collections import deque

import attrs

import emulpickle
from emulpickle import GenericAttribute, GenericClass, GenericObject

from .tensors import is_tensor, tensor_row
from .values import abbrev, children, type_name

__all__ = ["Line", "build_tree", "line_text"]


@attrs.frozen
class _More:
    count: int


@attrs.define
class Line:
    """One line of a tree: depth, the key leading to it and its text."""

    depth: int
    key: str
    text: str
    anchor: int = 0  # > 0 when later lines refer back to it


def _is_container(obj: object) -> bool:
    return isinstance(
        obj, (list, tuple, dict, set, frozenset, deque, GenericObject)
    ) and not is_tensor(obj)


def _size(obj: object) -> int:
    if isinstance(obj, GenericObject):
        return sum(1 for _ in children(obj))
    return len(obj)  # type: ignore[arg-type]


def _label(obj: object) -> str:
    if isinstance(obj, GenericObject):
        cls = obj.cls
        if isinstance(cls, GenericAttribute):  # a GenericClass with a repr
            name = repr(cls)
        elif isinstance(cls, GenericClass):
            name = cls.qualname
        else:
            name = emulpickle.bounded_repr(cls)
        return f"{name}(...)"
    n = _size(obj)
    return f"{type_name(obj)} ({n} item{'s' if n != 1 else ''})"


def _leaf(obj: object) -> str:
    if is_tensor(obj):
        row = tensor_row("", obj)
        shape = "?" if row.shape is None else list(row.shape)
        text = f"{row.kind} {row.dtype} {shape}"
        return text if row.kind == "ndarray" else f"{text} {row.device}"
    if isinstance(obj, GenericClass):
        return f"<class {obj!r}>"
    value = abbrev(obj)
    if isinstance(obj, (str, bytes, int, float, bool, type(None))):
        return value
    if type(obj).__module__ == "numpy":  # np.int64(3) names its type
        return value
    return f"{type_name(obj)} {value}" if not value.startswith("<") else value


def build_tree(
    root: object, *, depth: int, max_items: int, max_lines: int
) -> tuple[list[Line], bool]:
    """The lines of a tree view of ``root``, and whether it was cut short.

    Containers deeper than ``depth`` levels are shown collapsed, at most
    ``max_items`` children of a container are shown (0 = all), and the walk
    stops after ``max_lines`` lines (0 = no limit). An object reached again
    is shown as a reference to its first line (``&n``).
    """
    lines: list[Line] = []
    first_line: dict[int, int] = {}
    anchors = itertools.count(1)
    stack: list[tuple[object, int, str]] = [(root, 0, "")]
    keep: list[object] = []  # keeps ids stable
    while stack:
        if max_lines and len(lines) >= max_lines:
            return lines, True
        obj, level, key = stack.pop()
        if isinstance(obj, _More):
            lines.append(Line(level, "", f"... ({obj.count} more)"))
            continue
        if not _is_container(obj):
            lines.append(Line(level, key, _leaf(obj)))
            continue
        size = _size(obj)
        ident = id(obj)
        if size and ident in first_line:
            target = lines[first_line[ident]]
            if not target.anchor:
                target.anchor = next(anchors)
            lines.append(Line(level, key, f"{_label(obj)} (same as &{target.anchor})"))
            continue
        if size:
            first_line[ident] = len(lines)
            keep.append(obj)
        if size and level >= depth:
            lines.append(Line(level, key, _label(obj) + " [...]"))
            continue
        lines.append(Line(level, key, _label(obj)))
        shown = size if not max_items else min(size, max_items)
        pending: list[tuple[object, int, str]] = [
            (child, level + 1, part)
            for part, child in itertools.islice(children(obj, True), shown)
        ]
        if shown < size:
            pending.append((_More(size - shown), level + 1, ""))
        stack.extend(reversed(pending))
    return lines, False


def line_text(line: Line) -> str:
    """The text of a line without indentation (``key: value &n``)."""
    text = f"{line.key}: {line.text}" if line.key else line.text
    return f"{text} &{line.anchor}" if line.anchor else text
