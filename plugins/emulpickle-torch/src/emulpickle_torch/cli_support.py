"""What emulpickle's command line needs to know about torch objects.

A small, stable API for tools that inspect loaded checkpoints without torch
(``emulpickle show``, ``json`` and ``convert`` use it once this plugin is
installed): which objects are tensors, a one-row summary of each, which
storage each views (tied weights), their values as nested lists, and the
state dict inside a checkpoint.

```py
from emulpickle_torch import cli_support

root = emulpickle_torch.load("ckpt.pt", unknown="generic")
picked = cli_support.pick_state_dict(root)  # {"fc.weight": Tensor, ...}
rows = [cli_support.summarize(t) for t in picked.tensors.values()]
```

Nothing here imports torch or runs anything a checkpoint names.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any

import attrs

from emulpickle import GenericObject, bounded_repr

from . import modules
from ._dtypes import DType
from ._tensor import NestedTensor, SparseTensor, Tensor
from .modules import MODULE_STATE_KEYS

__all__ = [
    "MODULE_STATE_KEYS",
    "SAFETENSORS_DTYPES",
    "STATE_DICT_KEYS",
    "TENSOR_TYPES",
    "PickedStateDict",
    "StateDictError",
    "StorageSpan",
    "TensorSummary",
    "dense_nbytes",
    "flatten_state",
    "is_tensor",
    "module_state",
    "pick_state_dict",
    "storage_span",
    "summarize",
    "tensor_array",
    "tensor_data",
]

#: The tensor types a loaded checkpoint holds.
TENSOR_TYPES: tuple[type, ...] = (Tensor, SparseTensor, NestedTensor)

#: Keys tried, in order, for the state dict inside a training checkpoint.
STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model", "module", "net")

#: torch dtype name -> safetensors dtype name (the dtypes safetensors holds).
SAFETENSORS_DTYPES: Mapping[str, str] = {
    "float64": "F64",
    "float32": "F32",
    "float16": "F16",
    "bfloat16": "BF16",
    "int64": "I64",
    "int32": "I32",
    "int16": "I16",
    "int8": "I8",
    "uint64": "U64",
    "uint32": "U32",
    "uint16": "U16",
    "uint8": "U8",
    "bool": "BOOL",
    "complex64": "C64",
    "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2",
    "float8_e8m0fnu": "F8_E8M0",
}


def is_tensor(obj: object) -> bool:
    """Whether ``obj`` is a tensor of a loaded checkpoint (dense, sparse or
    nested)."""
    return isinstance(obj, TENSOR_TYPES)


@attrs.frozen
class TensorSummary:
    """One tensor in a line: what a tensor table shows.

    Attributes:
        kind: ``"Tensor"``, ``"Parameter"``, ``"quantized Tensor"``,
            ``"Tensor (sparse_coo)"`` (the layout), ``"Tensor (nested)"``...
        dtype: torch's dtype name, e.g. ``"bfloat16"``.
        shape: the shape; ``None`` for a nested tensor (ragged).
        numel: the number of elements.
        nbytes: the bytes its elements take (the values', for a sparse one).
        device: the device it was saved from, e.g. ``"cpu"``.
    """

    kind: str
    dtype: str
    shape: tuple[int, ...] | None
    numel: int
    nbytes: int
    device: str


def summarize(obj: Tensor | SparseTensor | NestedTensor) -> TensorSummary:
    """The :class:`TensorSummary` of a tensor (see :func:`is_tensor`)."""
    if isinstance(obj, Tensor):
        kind = "Parameter" if obj.is_parameter else "Tensor"
        if obj.quantization is not None:
            kind = "quantized " + kind
        return TensorSummary(
            kind, obj.dtype, tuple(obj.shape), obj.numel, obj.nbytes, obj.device
        )
    if isinstance(obj, SparseTensor):
        values = obj.values
        return TensorSummary(
            f"Tensor ({obj.layout})",
            obj.dtype,
            tuple(obj.shape),
            math.prod(obj.shape),
            values.nbytes,
            values.device,
        )
    if isinstance(obj, NestedTensor):
        buffer = obj.buffer
        return TensorSummary(
            "Tensor (nested)",
            obj.dtype,
            None,
            buffer.numel,
            buffer.nbytes,
            buffer.device,
        )
    raise TypeError(f"not a tensor: {type(obj).__name__}")


@attrs.frozen(eq=False)
class StorageSpan:
    """Which bytes of which storage a dense tensor views.

    Two tensors of one checkpoint with the same ``storage`` share bytes
    (tied weights, views); with the same ``storage`` *and* ``view`` they are
    the same data seen the same way (``decoder.weight`` saved as
    ``embed.weight``).

    Attributes:
        storage: the storage viewed (the :class:`Storage` a legacy storage
            view is part of): compare it with ``is``.
        key: that storage's key in the checkpoint (``data/<key>``).
        nbytes: that storage's size in bytes (what the file holds for it).
        view: ``(dtype, byte offset, shape, stride, conj, neg)``: equal
            views of one storage show the same values.
    """

    storage: object
    key: str
    nbytes: int
    view: tuple[object, ...]


def storage_span(obj: object) -> StorageSpan | None:
    """The :class:`StorageSpan` of a dense tensor; ``None`` for a tensor
    without data (``meta``), a sparse or nested one, or anything else."""
    if not isinstance(obj, Tensor) or obj.storage is None:
        return None
    storage = obj.storage
    offset = obj.storage_offset * obj.itemsize
    if storage.base is not None:
        offset += storage.base_offset
        storage = storage.base
    view = (obj.dtype, offset, obj.shape, obj.stride, obj.conj, obj.neg)
    return StorageSpan(storage, storage.key, storage.nbytes, view)


def tensor_array(obj: Tensor | SparseTensor | NestedTensor) -> Any:
    """A tensor's values as a numpy array whose ``tolist()`` is JSON-ready.

    Sparse tensors are made dense, a nested tensor gives a list of its
    components' arrays, a tensor saved without data (``meta`` device) None.
    bfloat16 and float8 values become float32 (exactly). Needs numpy.
    """
    if isinstance(obj, SparseTensor):
        array = obj.to_dense()
    elif isinstance(obj, NestedTensor):
        return [tensor_array(part) for part in obj.unbind()]
    else:
        if obj.storage is None:
            return None
        array = obj.numpy()
    # ml_dtypes floats (bfloat16, float8_*) have no Python scalar of their own.
    if array.dtype.type.__module__ == "ml_dtypes":
        with contextlib.suppress(TypeError, ValueError):
            array = array.astype("float32")
    return array


def tensor_data(obj: Tensor | SparseTensor | NestedTensor) -> object:
    """A tensor's values as nested lists of Python numbers (JSON-ready).

    Sparse tensors are made dense, a nested tensor is a list of its
    components, a tensor saved without data (``meta`` device) is ``None``.
    bfloat16 and float8 values become Python floats. Needs numpy.
    """
    array = tensor_array(obj)
    if isinstance(array, list):
        return [part if part is None else part.tolist() for part in array]
    return None if array is None else array.tolist()


def dense_nbytes(obj: Tensor | SparseTensor | NestedTensor) -> int:
    """The bytes of a tensor's values as :func:`tensor_array` gives them: a
    sparse tensor counts its dense size, a tensor without data 0."""
    if isinstance(obj, SparseTensor):
        return math.prod(obj.shape) * obj.values.itemsize
    if isinstance(obj, NestedTensor):
        return obj.buffer.nbytes
    return 0 if obj.storage is None else obj.nbytes


class StateDictError(ValueError):
    """No state dict where one was looked for.

    Attributes:
        candidates: for a checkpoint without one at the top level, the keys
            (rendered with :func:`emulpickle.bounded_repr`) whose values are
            dicts of tensors.
    """

    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []


@attrs.frozen
class PickedStateDict:
    """The state dict found in a checkpoint.

    Attributes:
        tensors: name -> dense tensor, in the checkpoint's order (the
            entries of the dict that are tensors).
        found_at: the key of :data:`STATE_DICT_KEYS` it was found at, if
            it was looked up there.
        skipped: how many entries of the dict that was asked for were not
            dense tensors (and are not in ``tensors``).
        entries: every entry, flattened by :func:`flatten_state` (sparse
            and quantized tensors, the tensors inside tuples such as a
            quantized layer's packed ``(weight, bias)``, and the values
            that are not tensors): what a converter must account for.
        source: the dict or pickled module the state dict was read from.
    """

    tensors: dict[str, Tensor]
    found_at: str | None = None
    skipped: int = 0
    entries: dict[str, object] = attrs.field(factory=dict)
    source: object = None


def _holds_tensors(value: object) -> bool:
    """A state dict value: a tensor, or a tuple/list of tensors (and None),
    as quantized layers store ``(weight, bias)``."""
    if isinstance(value, TENSOR_TYPES):
        return True
    return isinstance(value, (tuple, list)) and any(
        isinstance(v, TENSOR_TYPES) for v in value
    )


def _is_state_value(value: object) -> bool:
    if value is None or isinstance(value, (DType, *TENSOR_TYPES)):
        return True
    return isinstance(value, (tuple, list)) and all(
        v is None or isinstance(v, TENSOR_TYPES) for v in value
    )


def _is_tensor_map(obj: object) -> bool:
    """A dict of tensors: values are tensors, tuples of tensors, dtypes or
    None (a quantized model's state dict has all four), one at least a
    tensor."""
    return (
        isinstance(obj, dict)
        and len(obj) > 0
        and all(_is_state_value(v) for v in obj.values())
        and any(_holds_tensors(v) for v in obj.values())
    )


def _name(key: object) -> str:
    """A state-dict key; str() of anything else could be huge."""
    if not isinstance(key, str):
        raise StateDictError(f"tensor key {bounded_repr(key)} is not a string")
    return key


def flatten_state(state: dict[object, object]) -> dict[str, object]:
    """The entries of a state dict with nested tuples, lists and str-keyed
    dicts expanded: ``{"fc._packed_params._packed_params": (w, b)}`` gives
    ``fc._packed_params._packed_params.0`` and ``...1``. Tensors (dense,
    sparse, nested) and every other value are leaves.

    Raises:
        StateDictError: a key is not a string.
    """
    out: dict[str, object] = {}
    stack: list[tuple[str, object]] = [
        (_name(k), v) for k, v in reversed(list(state.items()))
    ]
    seen: set[int] = set()
    while stack:
        name, value = stack.pop()
        if isinstance(value, (tuple, list)) and id(value) not in seen:
            seen.add(id(value))
            stack.extend(
                (f"{name}.{i}", v) for i, v in reversed(list(enumerate(value)))
            )
        elif (
            isinstance(value, dict)
            and value
            and id(value) not in seen
            and all(isinstance(k, str) for k in value)
        ):
            seen.add(id(value))
            stack.extend((f"{name}.{k}", v) for k, v in reversed(list(value.items())))
        else:
            out[name] = value
    return out


def _step(obj: object, key: str) -> object:
    if isinstance(obj, GenericObject) and isinstance(obj.state, dict):
        obj = obj.state
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        if key.isdigit() and int(key) in obj:
            return obj[int(key)]
    elif isinstance(obj, (list, tuple)) and key.isdigit() and int(key) < len(obj):
        return obj[int(key)]
    raise KeyError(key)


def _follow(root: object, path: str) -> object:
    """``root`` at ``path``: keys separated by dots (a key may contain dots)."""
    obj = root
    rest = path
    while rest:
        try:
            return _step(obj, rest)  # the whole remainder is one key
        except KeyError:
            pass
        head, dot, rest = rest.partition(".")
        if not dot:
            rest = ""
        try:
            obj = _step(obj, head)
        except KeyError:
            raise StateDictError(f"no key {head!r} there") from None
    return obj


def module_state(module: GenericObject) -> dict[str, Tensor]:
    """The dense tensors of a pickled ``nn.Module``'s state dict (loaded with
    ``unknown="generic"``), named as ``module.state_dict()`` names them (see
    :func:`emulpickle_torch.state_dict`); empty for another generic object.

    Raises:
        StateDictError: the module's state cannot be named as torch would.
    """
    if not modules.is_module(module):
        return {}
    try:
        found = modules.state_dict(module)
    except modules.ModuleStateError as exc:
        raise StateDictError(str(exc)) from None
    return {name: value for name, value in found.items() if isinstance(value, Tensor)}


def _picked(state: Any, found_at: str | None, source: object) -> PickedStateDict:
    tensors = {k: v for k, v in state.items() if isinstance(v, Tensor)}
    skipped = len(state) - len(tensors)
    return PickedStateDict(tensors, found_at, skipped, flatten_state(state), source)


def pick_state_dict(root: object, key: str | None = None) -> PickedStateDict:
    """The state dict (name -> dense tensor) in a loaded checkpoint.

    With ``key`` (keys separated by dots; a key may itself contain dots,
    digits index lists), the dict or pickled module there; its entries that
    are not tensors are left out. Without it: ``root`` itself when it is a
    dict of tensors, the parameters and buffers of a pickled module, or the
    first of :data:`STATE_DICT_KEYS` holding either.

    Raises:
        StateDictError: there is none (``candidates`` lists keys that hold
            one), or a tensor name is not a string.
    """
    if key is not None:
        obj = source = _follow(root, key)
        if isinstance(obj, GenericObject):
            obj = module_state(obj)
        if not isinstance(obj, dict):
            raise StateDictError(f"holds a {type(obj).__name__}, not a dict")
        source = obj
        tensors = {k: v for k, v in obj.items() if isinstance(v, Tensor)}
        entries = flatten_state(obj)
        if not any(_holds_tensors(v) for v in entries.values()):
            raise StateDictError("holds no tensors")
        return PickedStateDict(tensors, None, len(obj) - len(tensors), entries, source)
    if _is_tensor_map(root):
        return _picked(root, None, root)
    if isinstance(root, GenericObject):
        found = module_state(root)
        if found:
            return _picked(found, None, root)
    if isinstance(root, dict):
        for name in STATE_DICT_KEYS:
            value = source = root.get(name)
            if isinstance(value, GenericObject):
                value = module_state(value)
            if _is_tensor_map(value):
                return _picked(value, name, source)
        candidates = [bounded_repr(k) for k, v in root.items() if _is_tensor_map(v)]
        raise StateDictError(
            "no state dict (a dict of tensors) at the top level", candidates
        )
    raise StateDictError(
        f"the checkpoint holds a {type(root).__name__}, not a state dict"
    )
