"""``show --json``: what ``show`` shows, as one JSON document.

The ``"tree"`` holds the values the text tree shows (the same ``--depth``,
``--max-items`` and ``--max-lines`` cuts), encoded by
:func:`emulpickle.to_builtins`; ``"cut"`` lists each container shown in
part. Only the shown values are copied and encoded, so a million records
cost what fifty do (``emulpickle json`` writes everything).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from emulpickle import GenericObject

from .tensors import Marks, Part, _scalar_value, is_tensor, join_path
from .tree import Node
from .values import numpy_module, size, type_name

__all__ = ["cuts", "shown_tree"]


def _rebuild_generic(obj: GenericObject, values: list[object]) -> GenericObject:
    """A generic object holding its first ``len(values)`` entries, replaced
    by ``values`` (in the order of :func:`~emulpickle.cli.values.entries`)."""
    new = GenericObject(obj.cls)
    shown = iter(values)
    left = len(values)

    def take(n: int) -> list[object]:
        nonlocal left
        n = min(n, left)
        left -= n
        return [next(shown) for _ in range(n)]

    new.args = tuple(take(len(obj.args)))
    kwargs = list(obj.kwargs)
    new.kwargs = dict(zip(kwargs, take(len(kwargs)), strict=False))
    state = obj.state
    if isinstance(state, dict):
        keys = list(state)
        new.state = dict(zip(keys, take(len(keys)), strict=False))
    elif state is not None:
        got = take(1)
        new.state = got[0] if got else None
    new.list_items = take(len(obj.list_items))
    keys = list(obj.dict_items)
    new.dict_items = dict(zip(keys, take(len(keys)), strict=False))
    new.set_items = take(len(obj.set_items))
    return new


def shown_tree(top: Node, marks: Marks, tensor: Callable[[Node], object]) -> object:
    """A copy of the shown part of a planned tree, ready for
    :func:`emulpickle.to_builtins`: tensors become ``tensor(node)`` (a
    :class:`~emulpickle.cli.tensors.TensorMark`), numpy scalars Python
    values, collapsed containers ``{"$type": "truncated", "class", "len"}``
    marks. A container shown twice is one copy (``$id`` / ``$ref``)."""
    np = numpy_module()
    scalar = np.generic if np is not None else ()
    done: dict[int, object] = {}
    started: set[int] = set()
    stack: list[tuple[Node, bool]] = [(top, False)]

    def value(node: Node) -> object:
        target = node.ref if node.ref is not None else node
        if id(target) in done:
            return done[id(target)]
        # A reference back into a tuple being built (a cycle through it).
        return marks.add({"$type": "truncated", "class": type_name(target.obj)})

    while stack:
        node, filling = stack.pop()
        obj = node.obj
        if not filling:
            if id(node) in started:
                continue
            started.add(id(node))
            if node.ref is not None:
                stack.append((node, True))
                stack.append((node.ref, False))
                continue
            if is_tensor(obj):
                done[id(node)] = tensor(node)
            elif isinstance(obj, scalar):
                done[id(node)] = _scalar_value(obj)
            elif node.collapsed:
                done[id(node)] = marks.add(
                    {"$type": "truncated", "class": type_name(obj), "len": size(obj)}
                )
            elif not node.children:
                done[id(node)] = obj  # a leaf, or an empty container
            else:
                # Mutable copies exist before their entries: cycles close.
                if isinstance(obj, list):
                    done[id(node)] = []
                elif isinstance(obj, dict):
                    done[id(node)] = {}
                elif isinstance(obj, GenericObject):
                    done[id(node)] = GenericObject(obj.cls)
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(node.children))
            continue
        if node.ref is not None:
            done[id(node)] = value(node.ref)
            continue
        values = [value(child) for child in node.children]
        copy = done.get(id(node))
        if isinstance(obj, list):
            assert isinstance(copy, list)
            copy.extend(values)
        elif isinstance(obj, dict):
            assert isinstance(copy, dict)
            copy.update(
                (child.part[0], v)
                for child, v in zip(node.children, values, strict=True)
                if child.part is not None
            )
        elif isinstance(obj, GenericObject):
            assert isinstance(copy, GenericObject)
            rebuilt = _rebuild_generic(obj, values)
            copy.args, copy.kwargs = rebuilt.args, rebuilt.kwargs
            copy.state = rebuilt.state
            copy.list_items = rebuilt.list_items
            copy.dict_items = rebuilt.dict_items
            copy.set_items = rebuilt.set_items
        elif isinstance(obj, (set, frozenset)):
            kind = frozenset if isinstance(obj, frozenset) else set
            try:
                done[id(node)] = kind(values)
            except TypeError:  # an unhashable copy: write the items as a list
                done[id(node)] = values
        elif isinstance(obj, deque):
            done[id(node)] = list(values)
        else:
            done[id(node)] = tuple(values)
    return done[id(top)]


def cuts(top: Node, hidden: frozenset[str]) -> list[dict[str, object]]:
    """``{"path", "shown", "len"}`` for each container shown in part."""
    out: list[dict[str, object]] = []
    stack = [top]
    while stack:
        node = stack.pop()
        if node.more or node.collapsed:
            parts: list[Part] = node.parts()
            out.append(
                {
                    "path": join_path(parts, hidden),
                    "shown": len(node.children),
                    "len": size(node.obj),
                }
            )
        stack.extend(reversed(node.children))
    return out
