"""Tensors and arrays in a loaded tree: finding, summarising, substituting.

Torch tensors are recognised and summarised by the torch plugin's public
:mod:`emulpickle_torch.cli_support` (when installed), numpy arrays by numpy
itself (when loaded). Every walk here is iterative (any nesting depth
works) and visits each container once, so shared subtrees (``[x, x]``
nested 40 deep) cost what their distinct objects cost.
"""

from __future__ import annotations

import contextlib
import gc
from collections import deque
from collections.abc import Callable, Iterable
from itertools import compress
from typing import Any

import attrs

import emulpickle
from emulpickle import GenericObject

from .plugins import torch_support
from .values import dtype_text, entries, key_text, numpy_module

__all__ = [
    "Marks",
    "Part",
    "TensorMark",
    "TensorRow",
    "find_tensor_objects",
    "find_tensors",
    "has_numpy_scalars",
    "is_tensor",
    "join_path",
    "reachable_types",
    "substitute_tensors",
    "tensor_data",
    "tensor_row",
    "tensor_summary",
    "tensor_types",
]


def tensor_types() -> tuple[type, ...]:
    """The tensor and array types of the installed plugins and numpy."""
    torch = torch_support()
    types: list[type] = list(torch.TENSOR_TYPES) if torch is not None else []
    np = numpy_module()
    if np is not None:
        types.append(np.ndarray)
    return tuple(types)


def is_tensor(obj: object) -> bool:
    """Whether ``obj`` is a tensor or array (shown in the table, summarised)."""
    return isinstance(obj, tensor_types())


@attrs.frozen
class TensorRow:
    """One tensor or array found in a loaded tree.

    ``same_as`` names an earlier row with the same data seen the same way
    (a tied weight), ``shares_storage_with`` an earlier row viewing other
    bytes of the same storage (see :mod:`emulpickle.cli.sharing`).
    """

    name: str
    kind: str
    dtype: str
    shape: tuple[int, ...] | None
    numel: int | None
    nbytes: int | None
    device: str
    same_as: str | None = None
    shares_storage_with: str | None = None

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "shape": None if self.shape is None else list(self.shape),
            "numel": self.numel,
            "nbytes": self.nbytes,
            "device": self.device,
            "same_as": self.same_as,
            "shares_storage_with": self.shares_storage_with,
        }


def tensor_summary(obj: Any) -> dict[str, object]:
    """``{dtype, shape, device}`` (and the kind) of a tensor or array."""
    row = tensor_row("", obj)
    out: dict[str, object] = {
        "dtype": row.dtype,
        "shape": None if row.shape is None else list(row.shape),
        "device": row.device,
    }
    if row.kind not in ("Tensor", "ndarray"):
        out["kind"] = row.kind
    return out


def tensor_row(name: str, obj: Any) -> TensorRow:
    """The table row of a tensor or array (see :func:`is_tensor`)."""
    torch = torch_support()
    if torch is not None and torch.is_tensor(obj):
        s = torch.summarize(obj)
        return TensorRow(name, s.kind, s.dtype, s.shape, s.numel, s.nbytes, s.device)
    return TensorRow(
        name,
        "ndarray",
        dtype_text(obj.dtype),
        tuple(int(n) for n in obj.shape),
        int(obj.size),
        int(obj.nbytes),
        "cpu",
    )


#: Types that never hold a tensor: a walk does not look into them.
_LEAVES = frozenset({str, bytes, bytearray, int, float, complex, bool, type(None)})
#: What :func:`~emulpickle.cli.values.entries` walks into (and subclasses).
_CONTAINERS = (list, tuple, dict, set, frozenset, deque, GenericObject)
#: Objects handed to one ``gc.get_referents`` call.
_BATCH = 1 << 16

#: One step of a path: ``(key or label, whether it is a dict key)``.
Part = tuple[object, bool]


def reachable_types(root: object) -> set[type]:
    """The types of the values reachable from ``root`` through containers
    (lists, tuples, dicts, sets, deques, generic objects; dict keys too).

    This answers "is there any tensor in here?" before a walk that names
    each one: a million records of plain values are passed over at C speed
    (``gc.get_referents`` a level at a time) instead of one Python step per
    value. Only the built-in traversal of those container types is used;
    nothing of the objects' own runs.
    """
    found: set[type] = {type(root)}
    container: dict[type, bool] = {}

    def is_container(kind: type) -> bool:
        known = container.get(kind)
        if known is None:
            known = container[kind] = issubclass(kind, _CONTAINERS)
        return known

    seen: set[int] = set()
    level = [root] if is_container(type(root)) else []
    level_ids = {id(root)}
    while level:
        following: list[object] = []
        for start in range(0, len(level), _BATCH):
            refs = gc.get_referents(*level[start : start + _BATCH])
            kinds = set(map(type, refs))
            found |= kinds
            wanted = {k for k in kinds if is_container(k)}
            if wanted:
                following.extend(
                    compress(refs, map(wanted.__contains__, map(type, refs)))
                )
        if not following:
            break  # the last level is never remembered: nothing is left to walk
        seen |= level_ids
        level, level_ids = _unseen(following, seen)
    return found


def _unseen(objs: list[object], seen: set[int]) -> tuple[list[object], set[int]]:
    """``objs`` without repeats and without those in ``seen``, and their ids
    (at C speed when, as usual, there are no repeats)."""
    ids = set(map(id, objs))
    if len(ids) == len(objs) and ids.isdisjoint(seen):
        return objs, ids
    by_id = dict(zip(map(id, objs), objs, strict=True))
    fresh = by_id.keys() - seen
    return list(map(by_id.__getitem__, fresh)), fresh


def find_tensor_objects(
    root: object, prefix: tuple[Part, ...] = ()
) -> list[tuple[str, object]]:
    """``(path, tensor)`` for every tensor/array in ``root``, in tree order
    (see :func:`join_path`); a tensor reached twice is listed twice.

    ``prefix`` is where ``root`` is (``show --path``): names start with it.
    """
    tensors = tensor_types()
    torch = torch_support()
    hidden: frozenset[str] = torch.MODULE_STATE_KEYS if torch else frozenset()
    if isinstance(root, tensors):
        return [(join_path(prefix, hidden), root)]
    if not any(issubclass(kind, tensors) for kind in reachable_types(root)):
        return []
    found: list[tuple[str, object]] = []
    seen: set[int] = set()
    # (part, parent frame) frames; names are built only for tensors.
    frames: list[tuple[Part | None, int]] = [(None, -1)]
    stack: list[tuple[object, int]] = [(root, 0)]
    while stack:
        obj, frame = stack.pop()
        if isinstance(obj, tensors):
            found.append((_frame_path(frames, frame, prefix, hidden), obj))
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        pending = []
        for key, is_key, child in entries(obj):
            if type(child) in _LEAVES:
                continue
            frames.append(((key, is_key), frame))
            pending.append((child, len(frames) - 1))
        stack.extend(reversed(pending))
    return found


def find_tensors(root: object) -> list[TensorRow]:
    """Every tensor/array in ``root``, named by its path (keys joined by
    dots), with ties and shared storages marked."""
    from .sharing import mark_sharing

    return mark_sharing(find_tensor_objects(root)).rows


def _frame_path(
    frames: list[tuple[Part | None, int]],
    index: int,
    prefix: tuple[Part, ...],
    hidden: frozenset[str],
) -> str:
    parts: list[Part] = []
    while index > 0:
        part, index = frames[index]
        assert part is not None
        parts.append(part)
    parts.reverse()
    return join_path((*prefix, *parts), hidden)


def join_path(parts: Iterable[Part], hidden: frozenset[str] = frozenset()) -> str:
    """A tensor's name: keys joined by dots, ``[i]`` list indices appended
    (``model.layers[0].weight``); the module-state levels of a pickled
    ``nn.Module`` (``hidden``) are left out; ``(root)`` for the root."""
    text = ""
    for key, is_key in parts:
        part = key_text(key) if is_key else str(key)
        if is_key and part in hidden:
            continue
        if part.startswith("[") or not text:
            text += part
        else:
            text += "." + part
    return text or "(root)"


# -------------------------------------------------------------------- json


def _scalar_value(obj: Any) -> object:
    """A numpy scalar as a Python value (``np.int64(3)`` -> ``3``)."""
    try:
        value = obj.item()
    except (TypeError, ValueError):  # pragma: no cover - exotic dtypes
        return obj
    if type(value).__module__ == "builtins" or not hasattr(value, "dtype"):
        return value
    return float(value) if obj.dtype.kind == "V" else value


def has_numpy_scalars(root: object) -> bool:
    """Whether numpy is loaded (its scalars may then be in ``root``)."""
    return numpy_module() is not None


def substitute_tensors(
    root: object, leaf: Callable[[Any], object], max_depth: int | None = None
) -> object:
    """A copy of ``root`` with every tensor/array replaced by ``leaf(tensor)``.

    ``leaf`` is called for each occurrence of a tensor, so replacements are
    never shared.

    Lists, tuples, dicts and generic objects are copied (iteratively, keeping
    sharing and cycles); anything else is kept as it is. Containers
    ``max_depth`` or more levels below the root are not copied (for
    ``to_builtins(max_depth=...)``, which does not reach into them).
    """
    tensors = tensor_types()
    if is_tensor(root):
        return leaf(root)
    np_module = numpy_module()
    if np_module is not None and isinstance(root, np_module.generic):
        return _scalar_value(root)
    memo: dict[int, object] = {}
    done: set[int] = set()
    stack: list[tuple[object, bool, int]] = [(root, False, 0)]
    keep: list[object] = [root]

    np = numpy_module()
    scalar = np.generic if np is not None else ()

    def get(obj: object) -> object:
        # Each occurrence of a tensor gets its own replacement.
        if isinstance(obj, tensors):
            return leaf(obj)
        if isinstance(obj, scalar):
            return _scalar_value(obj)
        return memo.get(id(obj), obj)

    while stack:
        obj, filling, depth = stack.pop()
        ident = id(obj)
        if not filling:
            if ident in memo or ident in done:
                continue
            if isinstance(obj, tensors):
                continue
            if max_depth is not None and depth >= max_depth:
                continue
            if isinstance(obj, list):
                memo[ident] = []
            elif isinstance(obj, dict):
                memo[ident] = {}
            elif isinstance(obj, GenericObject):
                memo[ident] = GenericObject(obj.cls)
            elif not isinstance(obj, tuple):
                continue
            done.add(ident)
            keep.append(obj)
            stack.append((obj, True, depth))
            if isinstance(obj, GenericObject):
                items: list[object] = [
                    *obj.args,
                    *obj.kwargs.values(),
                    obj.state,
                    *obj.list_items,
                    *obj.dict_items.values(),
                ]
            elif isinstance(obj, dict):
                items = list(obj.values())
            else:
                items = list(obj)
            stack.extend((child, False, depth + 1) for child in reversed(items))
            continue
        if isinstance(obj, tuple):
            memo[ident] = tuple(get(item) for item in obj)
            continue
        new = memo[ident]
        if isinstance(obj, list):
            new.extend(get(item) for item in obj)  # type: ignore[attr-defined]
        elif isinstance(obj, dict):
            new.update((k, get(v)) for k, v in obj.items())  # type: ignore[attr-defined]
        else:
            assert isinstance(obj, GenericObject) and isinstance(new, GenericObject)
            new.args = tuple(get(item) for item in obj.args)
            new.kwargs = {k: get(v) for k, v in obj.kwargs.items()}
            new.state = get(obj.state)
            new.list_items = [get(item) for item in obj.list_items]
            new.dict_items = {k: get(v) for k, v in obj.dict_items.items()}
            new.set_items = list(obj.set_items)
    return memo.get(id(root), root)


def tensor_data(obj: Any) -> object:
    """The values of a tensor/array as nested lists (JSON-ready numbers)."""
    torch = torch_support()
    if torch is not None and torch.is_tensor(obj):
        return torch.tensor_data(obj)
    array = obj
    if array.dtype.kind == "V":
        with contextlib.suppress(TypeError, ValueError):
            array = array.astype(numpy_module().float32)
    return array.tolist()


class TensorMark:
    """Stands for a tensor in a tree given to ``to_builtins``.

    ``to_builtins`` writes it as ``{"$type": "repr", "class": ..., "repr":
    index}``; :meth:`Marks.replace` turns that back into the tensor's entry.
    """

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return str(self.index)

    def __bounded_repr__(self, part: Callable[[object], None]) -> None:
        """The index: ``to_builtins`` writes objects through ``bounded_repr``."""
        part(emulpickle.render_text(str(self.index)))


_MARK_CLASS = f"{TensorMark.__module__}.{TensorMark.__qualname__}"


class Marks:
    """Tensors replaced by :class:`TensorMark` and what to write for each."""

    def __init__(self, encode: Callable[[Any], object]) -> None:
        self.encode = encode
        self.values: list[object] = []

    def mark(self, tensor: Any) -> TensorMark:
        """A mark for ``tensor``, recording its encoding."""
        return self.add(self.encode(tensor))

    def add(self, value: object) -> TensorMark:
        """A mark written as ``value`` (JSON-ready)."""
        self.values.append(value)
        return TensorMark(len(self.values) - 1)

    def replace(self, value: dict[str, object]) -> object:
        """The encoding for a written mark; other dicts unchanged."""
        if value.get("$type") == "repr" and value.get("class") == _MARK_CLASS:
            text = value.get("repr")
            if isinstance(text, str) and text.isdigit():
                return self.values[int(text)]
        return value
