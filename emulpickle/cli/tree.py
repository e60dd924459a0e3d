"""The tree view of ``emulpickle show``: one line per value, within a budget.

The tree is planned a level at a time (breadth first) and printed depth
first. Each level's entries get lines before any of their children do, and
when a level does not fit in what is left of ``--max-lines`` its containers
share the lines fairly (one each in turn), each cut one saying ``... (N
more)``: every top-level key is shown before the optimizer state three
levels down takes the rest. Only what is shown is visited, so a million
records cost what fifty do.

A container is expanded once: reached again (shared, or a cycle) it is a
reference to its first line (``&n``), so shared subtrees cost what their
distinct objects cost. Keys longer than
:data:`~emulpickle.cli.values.KEY_WIDTH` lose their middle, never their
end, and siblings that would then read the same are shown wider.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable

import attrs

import emulpickle
from emulpickle import GenericAttribute, GenericClass, GenericObject

from .tensors import Part, is_tensor, tensor_row
from .values import abbrev, distinct_texts, entries, size, type_name

__all__ = ["Line", "Node", "build_tree", "line_text", "plan_tree", "render"]


@attrs.define
class Line:
    """One line of a tree: depth, the key leading to it and its text."""

    depth: int
    key: str
    text: str
    anchor: int = 0  # > 0 when later lines refer back to it


@attrs.define(eq=False)
class Node:
    """One value of a planned tree.

    Attributes:
        obj: the value.
        key: the key leading to it, as shown (``""`` for the root).
        part: that key as a path step (None for the root).
        parent: the node above (None for the root).
        text: what the line says after the key.
        children: the entries shown.
        more: entries of the container not shown (``... (N more)``).
        collapsed: a non-empty container shown without its entries (too
            deep, or no lines left): ``[...]``.
        ref: the node showing the same container in full (``same as &n``).
        referenced: whether some node's ``ref`` is this one.
    """

    obj: object
    key: str
    part: Part | None
    parent: Node | None
    text: str = ""
    children: list[Node] = attrs.Factory(list)
    more: int = 0
    collapsed: bool = False
    ref: Node | None = None
    referenced: bool = False

    def parts(self) -> list[Part]:
        """The path steps from the root to this node."""
        out: list[Part] = []
        node: Node | None = self
        while node is not None and node.part is not None:
            out.append(node.part)
            node = node.parent
        out.reverse()
        return out


def _is_container(obj: object) -> bool:
    return isinstance(
        obj, (list, tuple, dict, set, frozenset, deque, GenericObject)
    ) and not is_tensor(obj)


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
    n = size(obj)
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


def _cost(shown: int, total: int) -> int:
    """Lines a container's entries take when ``shown`` of ``total`` are
    shown: one each, plus ``... (N more)`` when some are not."""
    return 0 if shown == 0 else shown + (shown < total)


def share_lines(wants: list[int], sizes: list[int], budget: int) -> list[int]:
    """How many entries each container of a level shows in ``budget`` lines.

    ``wants[i]`` entries of ``sizes[i]`` would be shown with lines to spare
    (``--max-items`` may already cut). Otherwise containers get an entry
    each in turn, so none is starved by a long one before it.
    """
    if sum(_cost(w, s) for w, s in zip(wants, sizes, strict=True)) <= budget:
        return list(wants)
    grants = [0] * len(wants)
    used = 0
    active = [i for i, w in enumerate(wants) if w > 0]
    while active and used < budget:
        still: list[int] = []
        for i in active:
            old = grants[i]
            new = old + 1
            if new == sizes[i] - 1 and wants[i] == sizes[i]:
                new = sizes[i]  # the last entry takes the line "1 more" would
            delta = _cost(new, sizes[i]) - _cost(old, sizes[i])
            if used + delta > budget:
                continue
            grants[i] = new
            used += delta
            if new < wants[i]:
                still.append(i)
        active = still
    return grants


def plan_tree(
    root: object,
    *,
    depth: int,
    max_items: int,
    max_lines: int,
    root_parts: tuple[Part, ...] = (),
    note: Callable[[Node], str] | None = None,
) -> tuple[Node, bool]:
    """The tree of ``root`` to show, and whether lines ran out.

    Containers ``depth`` levels down are collapsed, at most ``max_items``
    entries of a container are shown (0 = all) and the lines (``... more``
    lines included) fit in ``max_lines`` (0 = no limit). ``note`` adds a
    word to a tensor's line (``same as ...``); ``root_parts`` is where
    ``root`` is in the file (``--path``).
    """
    first: dict[int, Node] = {}
    keep: list[object] = []  # keeps ids stable

    def place(node: Node, level: int) -> bool:
        """Set the node's text; whether its entries are to be planned."""
        obj = node.obj
        if not _is_container(obj):
            node.text = _leaf(obj)
            if note is not None and is_tensor(obj):
                node.text += note(node)
            return False
        n = size(obj)
        target = first.get(id(obj)) if n else None
        node.text = _label(obj)
        if target is not None:
            node.ref = target
            target.referenced = True
            return False
        if n:
            first[id(obj)] = node
            keep.append(obj)
        if n and level >= depth:
            node.collapsed = True
            return False
        return n > 0

    top = Node(root, "", None, None)
    if root_parts:
        # Paths of the nodes below start where --path points.
        top.part = root_parts[-1]
        top.parent = _prefix_chain(root_parts[:-1])
    budget = max_lines - 1 if max_lines else -1
    cut = False
    level = 0
    frontier = [top] if place(top, 0) else []
    while frontier:
        sizes = [size(node.obj) for node in frontier]
        wants = [min(n, max_items) if max_items else n for n in sizes]
        grants = wants if budget < 0 else share_lines(wants, sizes, budget)
        following: list[Node] = []
        for node, n, want, grant in zip(frontier, sizes, wants, grants, strict=True):
            if grant < want:
                cut = True
            if grant == 0:
                node.collapsed = True
                continue
            if budget >= 0:
                budget -= _cost(grant, n)
            picked = list(itertools.islice(entries(node.obj), grant))
            keys = distinct_texts([key for key, is_key, _ in picked if is_key])
            shown = iter(keys)
            for key, is_key, child in picked:
                text = next(shown) if is_key else str(key)
                child_node = Node(child, text, (key, is_key), node)
                node.children.append(child_node)
                if place(child_node, level + 1):
                    following.append(child_node)
            node.more = n - grant
        frontier = following
        level += 1
    return top, cut


def _prefix_chain(parts: tuple[Part, ...]) -> Node | None:
    """Parent nodes standing for the path above a ``--path`` root."""
    node: Node | None = None
    for part in parts:
        node = Node(None, "", part, node)
    return node


def render(top: Node) -> list[Line]:
    """The lines of a planned tree, depth first; ``&n`` numbered in the
    order they are printed."""
    lines: list[Line] = []
    numbers: dict[int, int] = {}
    counter = itertools.count(1)

    def number(node: Node) -> int:
        found = numbers.get(id(node))
        if found is None:
            found = numbers[id(node)] = next(counter)
        return found

    stack: list[tuple[Node | None, int, int]] = [(top, 0, 0)]
    while stack:
        node, level, more = stack.pop()
        if node is None:
            lines.append(Line(level, "", f"... ({more} more)"))
            continue
        text = node.text
        if node.ref is not None:
            text += f" (same as &{number(node.ref)})"
        elif node.collapsed:
            text += " [...]"
        anchor = number(node) if node.referenced else 0
        lines.append(Line(level, node.key, text, anchor))
        if node.more and node.children:
            stack.append((None, level + 1, node.more))
        stack.extend((child, level + 1, 0) for child in reversed(node.children))
    return lines


def build_tree(
    root: object, *, depth: int, max_items: int, max_lines: int
) -> tuple[list[Line], bool]:
    """The lines of a tree view of ``root``, and whether lines ran out
    (see :func:`plan_tree`)."""
    top, cut = plan_tree(root, depth=depth, max_items=max_items, max_lines=max_lines)
    return render(top), cut


def line_text(line: Line) -> str:
    """The text of a line without indentation (``key: value &n``)."""
    text = f"{line.key}: {line.text}" if line.key else line.text
    return f"{text} &{line.anchor}" if line.anchor else text
