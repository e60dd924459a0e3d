"""emulpickle-torch: read ``torch.save`` files without torch and without running them.

```python
import emulpickle_torch

state = emulpickle_torch.load("model.pt")  # zip, legacy or tar format, mmapped
weight = state["linear.weight"]  # an emulpickle_torch.Tensor
array = weight.numpy()  # zero-copy view of the file

model = emulpickle_torch.load("whole_model.pt", unknown="generic")  # torch.save(model)
weights = emulpickle_torch.state_dict(model)  # names as model.state_dict() gives
emulpickle_torch.convert_checkpoint("model.pt", "model.safetensors")  # or .npz

# With torch installed: real tensors, zero-copy from a copy-on-write map.
state = emulpickle_torch.load("model.pt", tensors="torch")
state = emulpickle_torch.torch_load("model.pt", map_location="cpu")  # torch.load's API
```

Every global in the checkpoint's pickle is answered by an emulator (the
default emulpickle registry plus the torch and numpy emulators here); torch
is never imported and nothing named by the file runs. ``register`` is the
``emulpickle.plugins`` entry point (``Registry.with_plugins("torch")``).
"""

from __future__ import annotations

from emulpickle.generic import register_repr

from ._builtins import register_encoders
from ._convert import (
    ConversionError,
    ConversionReport,
    convert_checkpoint,
    output_format,
)
from ._dropin import torch_load
from ._dtypes import COMPLEX32, DTYPES, STORAGE_TYPES, DType, StorageType, TorchConstant
from ._emulators import Device, TensorClass, register
from ._load import MAGIC_NUMBER, load, torch_registry
from ._tensor import NestedTensor, SparseTensor, Storage, Tensor, TypedStorage
from .errors import TorchFormatError, TorchScriptArchiveError
from .modules import ModuleStateError, is_module, render_module, state_dict

# Pickled nn.Modules (generic objects) print as torch prints them, and
# emulpickle.to_builtins writes tensors as emulpickle json does.
register_repr(render_module)
register_encoders()

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
    "ModuleStateError",
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
    "is_module",
    "load",
    "output_format",
    "register",
    "state_dict",
    "torch_load",
    "torch_registry",
]
