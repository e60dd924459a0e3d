"""How :func:`emulpickle.to_builtins` writes the torch plugin's objects.

Registered with :func:`emulpickle.convert.register_encoder` when the plugin
is imported, so that a loaded checkpoint converts to what ``emulpickle
json`` writes, with no private class or reader of the plugin in it:

* tensors (dense, sparse, nested): ``{"$tensor": {"dtype": "float32",
  "shape": [2, 3], "device": "cpu"}}``, with ``"kind"`` when it is not a
  plain tensor (``"Parameter"``, ``"quantized Tensor"``, ``"Tensor
  (sparse_coo)"``...) and ``"shape": null`` for a nested tensor;
* storages: ``{"$storage": {"key": "0", "nbytes": 64, "location": "cpu"}}``
  (and ``"dtype"`` for a typed one);
* dtypes, storage classes, layouts and other torch globals, and
  ``torch.Tensor`` / ``torch.nn.Parameter`` as classes:
  ``{"$type": "global", "name": "torch.float32"}``, as emulpickle writes
  any global;
* ``torch.device``: ``{"$type": "torch.device", "value": "cuda:0"}``.
"""

from __future__ import annotations

from emulpickle.convert import register_encoder

from ._dtypes import DType, StorageType, TorchConstant
from ._emulators import Device, TensorClass
from ._tensor import NestedTensor, SparseTensor, Storage, Tensor, TypedStorage
from .cli_support import summarize

__all__ = ["encode_tensor", "register_encoders"]


def encode_tensor(tensor: Tensor | SparseTensor | NestedTensor) -> dict[str, object]:
    """``{"$tensor": {dtype, shape, device[, kind]}}``, as ``emulpickle json``."""
    row = summarize(tensor)
    summary: dict[str, object] = {
        "dtype": row.dtype,
        "shape": None if row.shape is None else list(row.shape),
        "device": row.device,
    }
    if row.kind != "Tensor":
        summary["kind"] = row.kind
    return {"$tensor": summary}


def _storage(storage: Storage) -> dict[str, object]:
    return {"key": storage.key, "nbytes": storage.nbytes, "location": storage.location}


def _encode_storage(storage: Storage) -> dict[str, object]:
    return {"$storage": _storage(storage)}


def _encode_typed_storage(typed: TypedStorage) -> dict[str, object]:
    return {"$storage": {**_storage(typed.storage), "dtype": typed.dtype.name}}


def _encode_global(constant: DType | StorageType | TorchConstant) -> dict[str, object]:
    # Their repr is the name a pickle gives them: "torch.float32".
    return {"$type": "global", "name": repr(constant)}


def _encode_class(cls: TensorClass) -> dict[str, object]:
    return {"$type": "global", "name": cls.qualname}


def _encode_device(device: Device) -> dict[str, object]:
    return {"$type": "torch.device", "value": str(device)}


def register_encoders() -> None:
    """Teach :func:`emulpickle.to_builtins` the torch plugin's objects."""
    for tensor_type in (Tensor, SparseTensor, NestedTensor):
        register_encoder(tensor_type, encode_tensor)
    register_encoder(Storage, _encode_storage)
    register_encoder(TypedStorage, _encode_typed_storage)
    for constant_type in (DType, StorageType, TorchConstant):
        register_encoder(constant_type, _encode_global)
    register_encoder(TensorClass, _encode_class)
    register_encoder(Device, _encode_device)
