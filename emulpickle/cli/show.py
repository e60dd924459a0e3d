"""``emulpickle show`` and ``emulpickle json``: trees, tensor tables, JSON.

Every walk here is iterative (any nesting depth works) and visits each
container once, so shared subtrees (``[x, x]`` nested 40 deep) cost what
their distinct objects cost.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import sys
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from .._render import bounded_repr
from .._render import text as render_text
from ..generic import GenericAttribute, GenericClass, GenericObject

__all__ = [
    "Line",
    "Marks",
    "TensorMark",
    "TensorRow",
    "build_tree",
    "find_tensors",
    "human_bytes",
    "is_tensor",
    "substitute_tensors",
    "tensor_summary",
]

#: Longest abbreviated value in a tree line.
VALUE_WIDTH = 60
#: nn.Module state keys left out of tensor names (``fc._parameters.weight``
#: is shown as ``fc.weight``).
_MODULE_KEYS = frozenset({"_parameters", "_buffers", "_modules"})


# ----------------------------------------------------------------- tensors


def _torch_module() -> Any:
    return sys.modules.get("emulpickle_torch")


def _numpy_module() -> Any:
    return sys.modules.get("numpy")


def tensor_types() -> tuple[type, ...]:
    """The tensor and array types of the loaded plugins."""
    types: list[type] = []
    torch = _torch_module()
    if torch is not None:
        types += [torch.Tensor, torch.SparseTensor, torch.NestedTensor]
    np = _numpy_module()
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
    row = _row("", obj)
    out: dict[str, object] = {
        "dtype": row.dtype,
        "shape": None if row.shape is None else list(row.shape),
        "device": row.device,
    }
    if row.kind not in ("Tensor", "ndarray"):
        out["kind"] = row.kind
    return out


def _row(name: str, obj: Any) -> TensorRow:
    torch = _torch_module()
    if torch is not None and isinstance(obj, torch.Tensor):
        kind = "Parameter" if obj.is_parameter else "Tensor"
        if obj.quantization is not None:
            kind = "quantized " + kind
        return TensorRow(
            name,
            kind,
            obj.dtype,
            tuple(obj.shape),
            obj.numel,
            obj.nbytes,
            obj.device,
        )
    if torch is not None and isinstance(obj, torch.SparseTensor):
        values = obj.values
        return TensorRow(
            name,
            f"Tensor ({obj.layout})",
            obj.dtype,
            tuple(obj.shape),
            math.prod(obj.shape),
            values.nbytes,
            values.device,
        )
    if torch is not None and isinstance(obj, torch.NestedTensor):
        buffer = obj.buffer
        return TensorRow(
            name,
            "Tensor (nested)",
            obj.dtype,
            None,
            buffer.numel,
            buffer.nbytes,
            buffer.device,
        )
    return TensorRow(
        name,
        "ndarray",
        _dtype_text(obj.dtype),
        tuple(int(n) for n in obj.shape),
        int(obj.size),
        int(obj.nbytes),
        "cpu",
    )


def _dtype_text(dtype: Any) -> str:
    """A numpy dtype's str, unless it has fields (that str lists each one,
    however often a sub-dtype is shared: it may be gigabytes)."""
    if dtype.names is None and dtype.subdtype is None:
        return str(dtype)
    kind = "sub-array" if dtype.names is None else "structured"
    return f"<{kind} dtype of {dtype.itemsize} bytes>"


def _key_text(key: object, quote: bool = False) -> str:
    if isinstance(key, str) and not quote:
        return key
    return _abbrev(key, 30)


def _children(obj: object, quote: bool = False) -> Iterator[tuple[str, object]]:
    """``(name part, child)`` pairs of a container; nothing for a leaf.

    Keys are given as they are (tensor names) or, with ``quote``, as reprs.
    """
    if isinstance(obj, (list, tuple, deque)):
        for i, item in enumerate(obj):
            yield f"[{i}]", item
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield _key_text(key, quote), value
    elif isinstance(obj, (set, frozenset)):
        for item in obj:
            yield "", item
    elif isinstance(obj, GenericObject):
        for i, item in enumerate(obj.args):
            yield f"args[{i}]", item
        for key, value in obj.kwargs.items():
            yield key, value
        state = obj.state
        if isinstance(state, dict):
            for key, value in state.items():
                yield _key_text(key, quote), value
        elif state is not None:
            yield "state", state
        for i, item in enumerate(obj.list_items):
            yield f"[{i}]", item
        for key, value in obj.dict_items.items():
            yield _key_text(key, quote), value
        for item in obj.set_items:
            yield "", item


def find_tensors(root: object) -> list[TensorRow]:
    """Every tensor/array in ``root``, named by its path (keys joined by dots)."""
    rows: list[TensorRow] = []
    tensors = tensor_types()
    if isinstance(root, tensors):
        return [_row("(root)", root)]
    leaves = (str, bytes, bytearray, int, float, complex, type(None))
    seen: set[int] = set()
    # (object, parent frame index) frames; names are built only for tensors.
    frames: list[tuple[str, int]] = [("", -1)]
    stack: list[tuple[object, int]] = [(root, 0)]
    while stack:
        obj, frame = stack.pop()
        if isinstance(obj, tensors):
            rows.append(_row(_path(frames, frame), obj))
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if type(obj) is list or type(obj) is tuple:
            pairs: Any = ((f"[{i}]", c) for i, c in enumerate(obj))
        else:
            pairs = _children(obj)
        pending = []
        for part, child in pairs:
            if isinstance(child, leaves):
                continue
            frames.append((part, frame))
            pending.append((child, len(frames) - 1))
        stack.extend(reversed(pending))
    return rows


def _path(frames: list[tuple[str, int]], index: int) -> str:
    parts: list[str] = []
    while index > 0:
        part, index = frames[index]
        if part not in _MODULE_KEYS:
            parts.append(part)
    parts.reverse()
    text = ""
    for part in parts:
        if part.startswith("[") or not text:
            text += part
        else:
            text += "." + part
    return text or "(root)"


def human_bytes(n: int | None) -> str:
    """``1.5 MiB`` style."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


# -------------------------------------------------------------------- tree


def _type_name(obj: object) -> str:
    kind = type(obj)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def _abbrev(obj: object, width: int = VALUE_WIDTH) -> str:
    """A short repr of a leaf value."""
    if isinstance(obj, bool) or obj is None:
        return repr(obj)
    if isinstance(obj, int):
        if obj.bit_length() > 200:
            return f"<int of {obj.bit_length()} bits>"
        text = repr(int(obj))
    elif isinstance(obj, (str, bytes, bytearray)):
        head = obj[: width + 1]
        text = repr(head if isinstance(head, (str, bytes)) else bytes(head))
        if len(obj) > width:
            text = repr(head[:width]) + f"... ({len(obj)} long)"
        if isinstance(obj, bytearray):
            text = f"bytearray({text})"
        return text
    else:
        np = _numpy_module()
        if np is not None and isinstance(obj, np.dtype):
            text = _dtype_text(obj)
        elif np is not None and isinstance(obj, np.generic):
            # Scalars hold plain bytes (the plugin makes no others): their
            # repr is short, unless a structured dtype is shown with it.
            dtype = obj.dtype
            plain = dtype.names is None and dtype.subdtype is None
            text = repr(obj) if plain else f"numpy scalar {_dtype_text(dtype)}"
        else:
            # Anything else may hold pickle data: never its own repr, which
            # could walk a shared subtree once per path.
            text = bounded_repr(obj, max_chars=width)
    if len(text) > width:
        text = text[: width - 3] + "..."
    return text


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
        return sum(1 for _ in _children(obj))
    return len(obj)  # type: ignore[arg-type]


def _label(obj: object) -> str:
    if isinstance(obj, GenericObject):
        cls = obj.cls
        name = cls.qualname if isinstance(cls, GenericClass) else bounded_repr(cls)
        if isinstance(cls, GenericAttribute):
            name = repr(cls)
        return f"{name}(...)"
    n = _size(obj)
    return f"{_type_name(obj)} ({n} item{'s' if n != 1 else ''})"


def _leaf(obj: object) -> str:
    if is_tensor(obj):
        row = _row("", obj)
        shape = "?" if row.shape is None else list(row.shape)
        text = f"{row.kind} {row.dtype} {shape}"
        return text if row.kind == "ndarray" else f"{text} {row.device}"
    if isinstance(obj, GenericClass):
        return f"<class {obj!r}>"
    value = _abbrev(obj)
    if isinstance(obj, (str, bytes, int, float, bool, type(None))):
        return value
    if type(obj).__module__ == "numpy":  # np.int64(3) names its type
        return value
    return f"{_type_name(obj)} {value}" if not value.startswith("<") else value


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
            for part, child in itertools.islice(_children(obj, True), shown)
        ]
        if shown < size:
            pending.append((_More(size - shown), level + 1, ""))
        stack.extend(reversed(pending))
    return lines, False


def line_text(line: Line) -> str:
    """The text of a line without indentation (``key: value &n``)."""
    text = f"{line.key}: {line.text}" if line.key else line.text
    return f"{text} &{line.anchor}" if line.anchor else text


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
    return _numpy_module() is not None


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
    np_module = _numpy_module()
    if np_module is not None and isinstance(root, np_module.generic):
        return _scalar_value(root)
    memo: dict[int, object] = {}
    done: set[int] = set()
    stack: list[tuple[object, bool, int]] = [(root, False, 0)]
    keep: list[object] = [root]

    np = _numpy_module()
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
                children: list[object] = [
                    *obj.args,
                    *obj.kwargs.values(),
                    obj.state,
                    *obj.list_items,
                    *obj.dict_items.values(),
                ]
            elif isinstance(obj, dict):
                children = list(obj.values())
            else:
                children = list(obj)
            stack.extend((child, False, depth + 1) for child in reversed(children))
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
    torch = _torch_module()
    if torch is not None and isinstance(obj, torch.SparseTensor):
        array = obj.to_dense()
    elif torch is not None and isinstance(obj, torch.NestedTensor):
        return [tensor_data(part) for part in obj.unbind()]
    elif torch is not None and isinstance(obj, torch.Tensor):
        if obj.storage is None:
            return None
        array = obj.numpy()
    else:
        array = obj
    np = _numpy_module()
    # ml_dtypes floats (bfloat16, float8_*) have no Python scalar of their own.
    if array.dtype.kind == "V" or array.dtype.type.__module__ == "ml_dtypes":
        with contextlib.suppress(TypeError, ValueError):
            array = array.astype(np.float32)
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
        part(render_text(str(self.index)))


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
