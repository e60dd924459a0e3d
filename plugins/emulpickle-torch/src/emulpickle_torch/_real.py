"""Real torch objects from the emulated tree (``load(..., tensors="torch")``).

The emulated load has already validated everything a pickle chose: storage
keys and sizes against the file, every view against its storage
(:func:`~emulpickle_torch._tensor.check_view`), quantizer parameters. What is
left to check here is the data torch's constructors trust (sparse indices,
nested offsets), which is checked before torch sees it.

Storages are not copied: the file is mapped copy-on-write (``MAP_PRIVATE``,
as ``torch.load(mmap=True)`` does), one ``torch.UntypedStorage`` spans the
map and each checkpoint storage is a slice of it, so tensors viewing one
storage share memory as they do after ``torch.load``. Tensors are writable;
writes go to private pages and never to the file.

torch is imported only when a load asks for real tensors.
"""

from __future__ import annotations

import argparse
import sys
import types
from collections.abc import Callable
from typing import Any

from emulpickle import EmulationError, GenericObject, Registry, bounded_repr

from ._dtypes import DType, StorageType, TorchConstant
from ._emulators import Device, TensorClass
from ._tensor import (
    NestedTensor,
    SparseTensor,
    Storage,
    Tensor,
    TypedStorage,
    check_view,
)

__all__ = ["TORCH_INSTALL", "Restore", "TorchBuilder", "import_torch", "to_torch"]

#: The command the error for a missing torch names.
TORCH_INSTALL = "pip install torch==2.13.0"

#: ``(cpu storage, saved location) -> storage``: torch's ``restore_location``.
Restore = Callable[[Any, str], Any]

_ATOMS = (type(None), bool, int, float, complex, str, bytes, bytearray)


def import_torch() -> Any:
    """The torch module, or an ImportError that says how to install it."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            f'real tensors (tensors="torch", torch_load) need torch: {TORCH_INSTALL}'
        ) from exc
    return torch


def _keep_on_cpu(storage: Any, location: str) -> Any:
    return storage


class TorchBuilder:
    """Turns one load's emulated tree into torch objects.

    Args:
        torch: the torch module.
        private: a writable buffer of the whole file that only this load
            uses (see :attr:`Source.private`), or None: storages are copied.
        restore: places each storage (torch's ``restore_location``);
            default: keep it on the CPU.
        meta: every storage is a meta storage (``map_location="meta"``):
            no byte of the file is read, as with torch.
    """

    def __init__(
        self,
        torch: Any,
        private: Any = None,
        restore: Restore | None = None,
        meta: bool = False,
    ) -> None:
        self.torch = torch
        self._restore = restore or _keep_on_cpu
        self._meta = meta
        self._overall: Any = None
        if private is not None and len(private):
            # One storage over the whole map, viewed (not copied) by each
            # checkpoint storage: torch.load(mmap=True) slices it the same way.
            self._overall = torch.frombuffer(
                private, dtype=torch.uint8
            ).untyped_storage()
        self._storages: dict[int, Any] = {}
        self._memo: dict[int, object] = {}
        # Converted originals stay alive so that their ids are not reused.
        self._alive: list[object] = []

    # ------------------------------------------------------------ storages

    def dtype(self, dtype: DType) -> Any:
        """The torch dtype for an emulated one (same element size)."""
        real = getattr(self.torch, dtype.name, None)
        if not isinstance(real, self.torch.dtype) or real.itemsize != dtype.itemsize:
            raise EmulationError(f"torch has no dtype {dtype.name}")
        return real

    def storage(self, storage: Storage, dtype: Any) -> Any:
        """The torch storage for ``storage`` (one per storage: views share it)."""
        found = self._storages.get(id(storage))
        if found is not None:
            return found
        if storage.base is not None:
            # A legacy storage view: torch slices the restored root storage.
            root = self.storage(storage.base, dtype)
            if root.device.type == "meta":
                made = self.torch.UntypedStorage(storage.nbytes, device="meta")
            else:
                start = storage.base_offset
                made = root[start : start + storage.nbytes]
        elif self._meta:
            made = self.torch.UntypedStorage(storage.nbytes, device="meta")
        else:
            made = self._restore(self._cpu_storage(storage, dtype), storage.location)
            if not isinstance(made, self.torch.UntypedStorage):
                made = getattr(made, "_untyped_storage", made)
        self._storages[id(storage)] = made
        self._alive.append(storage)
        return made

    def _cpu_storage(self, storage: Storage, dtype: Any) -> Any:
        torch = self.torch
        nbytes = storage.nbytes
        if nbytes == 0:
            return torch.UntypedStorage(0)
        native = storage.byteorder == sys.byteorder
        offset = storage.file_offset
        if (
            self._overall is not None
            and offset is not None
            and native
            # torch's kernels may load elements with aligned instructions;
            # a storage at an offset that is not a multiple of its element
            # size (legacy files put storages anywhere) is copied instead.
            and offset % dtype.itemsize == 0
        ):
            return self._overall[offset : offset + nbytes]
        # A copy: compressed records, sources that are not this load's own
        # memory (the caller's bytes or BytesIO, mmap=False), misaligned or
        # big-endian storages (swapped below, as torch.load does).
        data = bytearray(storage.buffer())
        made = torch.frombuffer(data, dtype=torch.uint8).untyped_storage()
        if not native:
            made.byteswap(dtype)
        return made

    # ------------------------------------------------------------- tensors

    def tensor(self, tensor: Tensor) -> Any:
        """A real tensor or Parameter for an emulated strided tensor."""
        torch = self.torch
        dtype = self.dtype(tensor.torch_dtype)
        if tensor.storage is None:
            result = self._no_storage(tensor, dtype)
        elif tensor.quantization is not None:
            result = self._quantized(tensor, dtype)
        else:
            storage = self.storage(tensor.storage, dtype)
            result = torch.empty((0,), dtype=dtype, device=storage.device)
            # The view was checked against the storage when it was emulated.
            result.set_(storage, tensor.storage_offset, tensor.shape, tensor.stride)
        if tensor.conj or tensor.neg:
            if not (dtype.is_complex or not tensor.conj):
                raise EmulationError("the conjugate bit is only for complex tensors")
            # Only the bits that are set: torch sets a bit whose key is
            # present, whatever its value.
            bits = {"conj": tensor.conj, "neg": tensor.neg}
            torch._C._set_tensor_metadata(
                result, {key: True for key, value in bits.items() if value}
            )
        return self._finish(result, tensor)

    def _finish(self, result: Any, tensor: Any) -> Any:
        torch = self.torch
        requires_grad = bool(tensor.requires_grad)
        if requires_grad and not (
            result.dtype.is_floating_point or result.dtype.is_complex
        ):
            raise EmulationError(f"a {result.dtype} tensor cannot require gradients")
        if isinstance(tensor, Tensor) and tensor.is_parameter:
            result = torch.nn.Parameter(result, requires_grad=requires_grad)
        elif requires_grad:
            result.requires_grad_(True)
        state = getattr(tensor, "state", None)
        if state:
            self._set_state(result, state)
        return result

    def _set_state(self, result: Any, state: object) -> None:
        """Python attributes saved with a Parameter or tensor subclass."""
        parts = state if isinstance(state, tuple) else (state,)
        if len(parts) > 2:
            raise EmulationError(f"bad tensor state {bounded_repr(state)}")
        for part in parts:
            if part is None:
                continue
            if not isinstance(part, dict):
                raise EmulationError(f"bad tensor state {bounded_repr(part)}")
            for key, value in part.items():
                # Written to the instance dict, never through setattr: a name
                # torch defines (``data``, ``grad``...) would run its setter.
                if (
                    not isinstance(key, str)
                    or not key.isidentifier()
                    or hasattr(type(result), key)
                ):
                    raise EmulationError(
                        f"tensor attribute {bounded_repr(key)} cannot be restored"
                    )
                result.__dict__[key] = self.convert(value)

    def _no_storage(self, tensor: Tensor, dtype: Any) -> Any:
        if tensor.device != "meta":
            raise EmulationError(
                f"{tensor!r} has no storage (a tensor subclass without data)"
            )
        sizes_ok = all(0 <= n < 1 << 62 for n in tensor.shape)
        if not sizes_ok or any(not 0 <= s < 1 << 62 for s in tensor.stride):
            raise EmulationError(
                f"meta tensor size {bounded_repr(tensor.shape)} / stride "
                f"{bounded_repr(tensor.stride)} out of range"
            )
        if len(tensor.shape) != len(tensor.stride):
            raise EmulationError("meta tensor size and stride differ in length")
        return self._call(
            "meta tensor",
            self.torch.empty_strided,
            tensor.shape,
            tensor.stride,
            dtype=dtype,
            device="meta",
        )

    def _quantized(self, tensor: Tensor, dtype: Any) -> Any:
        torch = self.torch
        params = tensor.quantization
        assert params is not None
        storage = self.storage(tensor.storage, dtype)  # type: ignore[arg-type]
        scheme = params["qscheme"]
        if scheme == "per_tensor_affine":
            made = self._call(
                "quantized tensor",
                torch._empty_affine_quantized,
                tensor.shape,
                scale=params["scale"],
                zero_point=params["zero_point"],
                dtype=dtype,
                device=storage.device,
            )
        elif scheme in ("per_channel_affine", "per_channel_affine_float_qparams"):
            floats = scheme == "per_channel_affine_float_qparams"
            scales = self._qparam(
                params["scales"], torch.float if floats else torch.double
            )
            zeros = self._qparam(
                params["zero_points"], torch.float if floats else torch.long
            )
            made = self._call(
                "quantized tensor",
                torch._empty_per_channel_affine_quantized,
                tensor.shape,
                scales=scales,
                zero_points=zeros,
                axis=params["axis"],
                dtype=dtype,
                device=storage.device,
            )
        else:
            # torch.load refuses the symmetric schemes the same way.
            raise EmulationError(
                f"cannot rebuild a quantized tensor with qscheme {scheme}"
            )
        made.set_(storage, tensor.storage_offset, tensor.shape, tensor.stride)
        return made

    def _qparam(self, value: object, dtype: Any) -> Any:
        if isinstance(value, Tensor):
            return self.convert(value)
        if not isinstance(value, list) or not all(
            type(v) in (int, float) for v in value
        ):
            raise EmulationError("per-channel parameters must be numbers")
        return self.torch.tensor(value, dtype=dtype)

    def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Call torch; its refusal (RuntimeError...) becomes an EmulationError."""
        try:
            return function(*args, **kwargs)
        except (RuntimeError, ValueError, TypeError, IndexError) as exc:
            raise EmulationError(
                f"torch refused the {what}: {bounded_repr(str(exc))}"
            ) from None

    # ----------------------------------------------------- sparse, nested

    def sparse(self, sparse: SparseTensor) -> Any:
        """A sparse tensor; indices are bounds-checked before torch sees them."""
        from ._real_sparse import build_sparse

        return self._finish(build_sparse(self, sparse), sparse)

    def nested(self, nested: NestedTensor) -> Any:
        """A nested tensor viewing its buffer; each component is checked."""
        torch = self.torch
        buffer = self.convert(nested.buffer)
        sizes = self.convert(nested.nested_sizes)
        strides = self.convert(nested.nested_strides)
        offsets = self.convert(nested.nested_offsets)
        if buffer.dim() != 1 or not buffer.is_contiguous():
            raise EmulationError("a nested tensor's buffer must be 1-D and contiguous")
        if (
            sizes.dtype != torch.int64
            or strides.dtype != torch.int64
            or offsets.dtype != torch.int64
            or sizes.dim() != 2
            or strides.shape != sizes.shape
            or offsets.shape != sizes.shape[:1]
        ):
            raise EmulationError("nested tensor metadata has the wrong shape or dtype")
        if buffer.device.type != "meta":
            itemsize = buffer.element_size()
            nbytes = buffer.numel() * itemsize
            for size, stride, offset in zip(
                sizes.tolist(), strides.tolist(), offsets.tolist(), strict=True
            ):
                check_view(
                    nbytes,
                    itemsize,
                    tuple(size),
                    tuple(stride),
                    offset,
                    "nested component",
                )
        result = self._call(
            "nested tensor",
            torch._nested_view_from_buffer,
            buffer,
            sizes,
            strides,
            offsets,
        )
        return self._finish(result, nested)

    # ------------------------------------------------------------ the tree

    def convert(self, obj: object) -> Any:
        """``obj`` with every emulated torch object made real.

        Lists, dicts (their attributes too: a state dict's ``_metadata``)
        and generic objects are updated in place, tuples rebuilt.
        """
        if type(obj) in _ATOMS:
            return obj
        found = self._memo.get(id(obj), self._memo)
        if found is not self._memo:
            return found
        try:
            made = self._convert(obj)
        except RecursionError:
            raise EmulationError("the object is nested too deeply to convert") from None
        self._memo[id(obj)] = made
        self._alive.append(obj)
        return made

    def _convert(self, obj: object) -> Any:
        torch = self.torch
        if isinstance(obj, Tensor):
            return self.tensor(obj)
        if isinstance(obj, SparseTensor):
            return self.sparse(obj)
        if isinstance(obj, NestedTensor):
            return self.nested(obj)
        if isinstance(obj, TypedStorage):
            dtype = self.dtype(obj.dtype)
            untyped = self.storage(obj.storage, dtype)
            return torch.storage.TypedStorage(
                wrap_storage=untyped, dtype=dtype, _internal=True
            )
        if isinstance(obj, DType):
            return self.dtype(obj)
        if isinstance(obj, Device):
            return self._call("device", torch.device, str(obj))
        if isinstance(obj, (TorchConstant, StorageType)):
            return getattr(torch, obj.name, obj)
        if isinstance(obj, TensorClass):
            return {
                "torch.Tensor": torch.Tensor,
                "torch.nn.Parameter": torch.nn.Parameter,
            }.get(obj.qualname, obj)
        if isinstance(obj, list):
            self._memo[id(obj)] = obj  # a list may contain itself
            for index, item in enumerate(obj):
                obj[index] = self.convert(item)
            return obj
        if isinstance(obj, dict):
            self._memo[id(obj)] = obj
            for key, value in list(obj.items()):
                made = self.convert(value)
                if made is not value:
                    obj[key] = made
            self._convert_attributes(obj)
            return obj
        if type(obj) is tuple:
            items = [self.convert(item) for item in obj]
            if all(a is b for a, b in zip(items, obj, strict=True)):
                return obj
            return tuple(items)
        if isinstance(obj, GenericObject):
            self._memo[id(obj)] = obj
            obj.args = self.convert(obj.args)
            obj.kwargs = self.convert(obj.kwargs)
            obj.state = self.convert(obj.state)
            obj.list_items = self.convert(obj.list_items)
            obj.dict_items = self.convert(obj.dict_items)
            return obj
        if isinstance(obj, (argparse.Namespace, types.SimpleNamespace)):
            self._memo[id(obj)] = obj
            self._convert_attributes(obj)
            return obj
        return obj

    def _convert_attributes(self, obj: object) -> None:
        attributes = getattr(obj, "__dict__", None)
        if isinstance(attributes, dict):
            for key, value in list(attributes.items()):
                attributes[key] = self.convert(value)


def to_torch(
    file: Any,
    *,
    mmap: bool = True,
    registry: Registry | None = None,
    unknown: Any = "error",
    max_inflate: int = 1 << 32,
    restore: Restore | None = None,
    meta: bool = False,
    **options: Any,
) -> Any:
    """Load ``file`` as :func:`emulpickle_torch.load` does, with real tensors."""
    from ._load import load_tree, open_source

    torch = import_torch()
    source = open_source(file, mmap, private=True)
    tree = load_tree(source, registry, unknown, max_inflate, options)
    return TorchBuilder(torch, source.private, restore, meta).convert(tree)
