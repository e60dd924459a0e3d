"""Tensors and arrays in a loaded tree: finding, summarising, substituting.

Torch tensors are recognised and summarised by the torch plugin's public
:mod:`emulpickle_torch.cli_support` (when installed), numpy arrays by numpy
itself (when loaded). Every walk here is iterative (any nesting depth
works) and visits each container once, so shared subtrees (``[x, x]``
nested 40 deep) cost what their distinct objects cost.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import attrs

import emulpickle
from emulpickle import GenericObject

from .plugins import torch_support
from .values import children, dtype_text, numpy_module

__all__ = [
    "Marks",
    "TensorMark",
    "TensorRow",
    "find_tensors",
    "has_numpy_scalars",
    "is_tensor",
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
    """One tensor or array found in a loaded tree."""

    name: str
    kind: str
    dtype: str
    shape: tuple[int, ...] | None
    numel: int | None
    nbytes: int | None
    device: str

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


def find_tensors(root: object) -> list[TensorRow]:
    """Every tensor/array in ``root``, named by its path (keys joined by dots)."""
    rows: list[TensorRow] = []
    tensors = tensor_types()
    if isinstance(root, tensors):
        return [tensor_row("(root)", root)]
    torch = torch_support()
    hidden: frozenset[str] = torch.MODULE_STATE_KEYS if torch else frozenset()
    leaves = (str, bytes, bytearray, int, float, complex, type(None))
    seen: set[int] = set()
    # (object, parent frame index) frames; names are built only for tensors.
    frames: list[tuple[str, int]] = [("", -1)]
    stack: list[tuple[object, int]] = [(root, 0)]
    while stack:
        obj, frame = stack.pop()
        if isinstance(obj, tensors):
            rows.append(tensor_row(_path(frames, frame, hidden), obj))
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if type(obj) is list or type(obj) is tuple:
            pairs: Any = ((f"[{i}]", c) for i, c in enumerate(obj))
        else:
            pairs = children(obj)
        pending = []
        for part, child in pairs:
            if isinstance(child, leaves):
                continue
            frames.append((part, frame))
            pending.append((child, len(frames) - 1))
        stack.extend(reversed(pending))
    return rows


def _path(frames: list[tuple[str, int]], index: int, hidden: frozenset[str]) -> str:
    parts: list[str] = []
    while index > 0:
        part, index = frames[index]
        if part not in hidden:
            parts.append(part)
    parts.reverse()
    text = ""
    for part in parts:
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
        self.values.append(self.encode(tensor))
        return TensorMark(len(self.values) - 1)

    def replace(self, value: dict[str, object]) -> object:
        """The encoding for a written mark; other dicts unchanged."""
        if value.get("$type") == "repr" and value.get("class") == _MARK_CLASS:
            text = value.get("repr")
            if isinstance(text, str) and text.isdigit():
                return self.values[int(text)]
        return value
