"""emulpickle-torch: read ``torch.save`` files without torch and without running them.

```python
import emulpickle_torch

state = emulpickle_torch.load("model.pt")  # zip, legacy or tar format, mmapped
weight = state["linear.weight"]  # an emulpickle_torch.Tensor
array = weight.numpy()  # zero-copy view of the file
emulpickle_torch.convert_checkpoint("model.pt", "model.safetensors")  # or .npz
```

Every global in the checkpoint's pickle is answered by an emulator (the
default emulpickle registry plus the torch and numpy emulators here); torch
is never imported and nothing named by the file runs. ``register`` is the
``emulpickle.plugins`` entry point (``Registry.with_plugins("torch")``).
"""

from __future__ import annotations

from ._convert import (
    ConversionError,
    ConversionReport,
    convert_checkpoint,
    output_format,
)
from ._dtypes import COMPLEX32, DTYPES, STORAGE_TYPES, DType, StorageType, TorchConstant
from ._emulators import Device, TensorClass, register
from ._load import MAGIC_NUMBER, load, torch_registry
from ._tensor import NestedTensor, SparseTensor, Storage, Tensor, TypedStorage
from .errors import TorchFormatError, TorchScriptArchiveError

__version__ = "0.1.0"

__all__ = [
    "COMPLEX32",
    "DTYPES",
    "MAGIC_NUMBER",
    "STORAGE_TYPES",
    "ConversionError",
    "ConversionReport",
    "DType",
    "Device",
    "NestedTensor",
    "SparseTensor",
    "Storage",
    "StorageType",
    "Tensor",
    "TensorClass",
    "TorchConstant",
    "TorchFormatError",
    "TorchScriptArchiveError",
    "TypedStorage",
    "__version__",
    "convert_checkpoint",
    "load",
    "output_format",
    "register",
    "torch_registry",
]
