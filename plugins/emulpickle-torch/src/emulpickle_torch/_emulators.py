"""Emulators for the torch globals that ``torch.save`` pickles name."""

from __future__ import annotations

import sys
from collections import OrderedDict
from typing import Any

from emulpickle import EmulationError, Registry, bounded_repr, call, protocol_method

from ._dtypes import (
    CONSTANTS,
    DTYPES,
    STORAGE_TYPES,
    DType,
    ShownByRepr,
    TorchConstant,
)
from ._tensor import (
    NestedTensor,
    SparseTensor,
    Storage,
    Tensor,
    TypedStorage,
    int_tuple,
)

__all__ = ["Device", "TensorClass", "register"]


def _arity(what: str, args: tuple[object, ...], low: int, high: int) -> None:
    if not low <= len(args) <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise EmulationError(f"{what} takes {expected} arguments, got {len(args)}")


def _int(value: object, what: str) -> int:
    if type(value) is not int:
        raise EmulationError(f"{what} must be an int, not {type(value).__name__}")
    return value


def _bool(value: object, what: str) -> bool:
    if type(value) is not bool:
        raise EmulationError(f"{what} must be a bool, not {type(value).__name__}")
    return value


def _dtype(value: object, what: str) -> DType:
    if not isinstance(value, DType):
        raise EmulationError(f"{what} must be a torch dtype, not {bounded_repr(value)}")
    return value


def _tensor(value: object, what: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise EmulationError(f"{what} must be a tensor, not {type(value).__name__}")
    return value


def _typed_storage(value: object, what: str) -> TypedStorage:
    if not isinstance(value, TypedStorage):
        raise EmulationError(
            f"{what}: expected a storage (persistent id), not {type(value).__name__}"
        )
    return value


def _apply_metadata(tensor: Tensor, metadata: object) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise EmulationError("tensor metadata must be a dict")
    for key, value in metadata.items():
        if key not in ("conj", "neg") or type(value) is not bool:
            raise EmulationError(
                f"unknown tensor metadata {bounded_repr(key)}: {bounded_repr(value)}"
            )
        setattr(tensor, key, value)


def _check_hooks(hooks: object) -> None:
    if hooks is not None and not isinstance(hooks, (dict, OrderedDict)):
        raise EmulationError("backward hooks must be an OrderedDict")


def _strided(what: str, args: tuple[object, ...], dtype: DType | None = None) -> Tensor:
    storage, offset, size, stride = args[:4]
    typed = _typed_storage(storage, what)
    return Tensor(
        dtype if dtype is not None else typed.dtype,
        int_tuple(size, f"{what} size"),
        int_tuple(stride, f"{what} stride"),
        _int(offset, f"{what} storage offset"),
        typed.storage,
        typed.storage.location,
    )


def rebuild_tensor(*args: object) -> Tensor:
    """``torch._utils._rebuild_tensor(storage, offset, size, stride)``."""
    _arity("_rebuild_tensor", args, 4, 4)
    return _strided("_rebuild_tensor", args)


def rebuild_tensor_v2(*args: object) -> Tensor:
    """``_rebuild_tensor_v2(storage, offset, size, stride, grad, hooks[, meta])``."""
    _arity("_rebuild_tensor_v2", args, 6, 7)
    tensor = _strided("_rebuild_tensor_v2", args)
    tensor.requires_grad = _bool(args[4], "requires_grad")
    _check_hooks(args[5])
    _apply_metadata(tensor, args[6] if len(args) > 6 else None)
    return tensor


def rebuild_tensor_v3(*args: object) -> Tensor:
    """``_rebuild_tensor_v3(storage, offset, size, stride, grad, hooks, dtype...)``."""
    _arity("_rebuild_tensor_v3", args, 7, 8)
    dtype = _dtype(args[6], "_rebuild_tensor_v3 dtype")
    tensor = _strided("_rebuild_tensor_v3", args, dtype)
    tensor.requires_grad = _bool(args[4], "requires_grad")
    _check_hooks(args[5])
    _apply_metadata(tensor, args[7] if len(args) > 7 else None)
    return tensor


def _as_parameter(what: str, data: object, requires_grad: object) -> Tensor:
    if isinstance(data, (SparseTensor, NestedTensor)):
        data.requires_grad = _bool(requires_grad, f"{what} requires_grad")
        return data  # type: ignore[return-value]
    param = _tensor(data, f"{what} data").copy()
    param.requires_grad = _bool(requires_grad, f"{what} requires_grad")
    param.is_parameter = True
    return param


def rebuild_parameter(*args: object) -> Tensor:
    """``_rebuild_parameter(data, requires_grad, hooks)``."""
    _arity("_rebuild_parameter", args, 3, 3)
    _check_hooks(args[2])
    return _as_parameter("_rebuild_parameter", args[0], args[1])


def rebuild_parameter_with_state(*args: object) -> Tensor:
    """``_rebuild_parameter_with_state(data, requires_grad, hooks, state)``."""
    _arity("_rebuild_parameter_with_state", args, 4, 4)
    _check_hooks(args[2])
    param = _as_parameter("_rebuild_parameter_with_state", args[0], args[1])
    param.state = args[3]
    return param


class TensorClass(ShownByRepr):
    """``torch.Tensor`` / ``torch.nn.Parameter`` named as a type by a pickle."""

    def __init__(self, qualname: str) -> None:
        self.qualname = qualname

    def __repr__(self) -> str:
        return f"<emulated class {self.qualname}>"

    def py_call(self, *args: object) -> object:
        raise EmulationError(f"{self.qualname} cannot be called from a pickle")

    def py_setstate(self, state: object) -> None:
        raise EmulationError(f"cannot set state on {self.qualname}")


_TENSOR_CLASS = TensorClass("torch.Tensor")
_PARAMETER_CLASS = TensorClass("torch.nn.Parameter")
#: The legacy typed tensor classes; the tar format names them per tensor.
_LEGACY_TENSOR_TYPES = [
    "DoubleTensor",
    "FloatTensor",
    "HalfTensor",
    "BFloat16Tensor",
    "LongTensor",
    "IntTensor",
    "ShortTensor",
    "CharTensor",
    "ByteTensor",
    "BoolTensor",
]


def rebuild_from_type_v2(*args: object) -> object:
    """``_rebuild_from_type_v2(func, new_type, args, state)``: tensor subclasses."""
    _arity("_rebuild_from_type_v2", args, 4, 4)
    func, new_type, func_args, state = args
    if not isinstance(func_args, tuple):
        raise EmulationError("_rebuild_from_type_v2 arguments must be a tuple")
    # Compared by identity: ``func in _REBUILDERS`` would hash an arbitrary
    # object from the pickle (a deeply nested tuple crashes CPython's hash).
    rebuilder = any(func is known for known in _REBUILDERS)
    if not (rebuilder or protocol_method(func, "py_call") is not None):
        raise EmulationError(f"_rebuild_from_type_v2 cannot call {bounded_repr(func)}")
    result = call(func, func_args)
    if isinstance(result, Tensor):
        result = result.copy()
        if new_type is _PARAMETER_CLASS:
            result.is_parameter = True
        elif new_type is not _TENSOR_CLASS:
            result.subclass = new_type
        if state:
            result.state = state
    return result


def rebuild_sparse_tensor(*args: object) -> SparseTensor:
    """``_rebuild_sparse_tensor(layout, data)``."""
    _arity("_rebuild_sparse_tensor", args, 2, 2)
    layout, data = args
    if not isinstance(layout, TorchConstant) or layout.kind != "layout":
        raise EmulationError(
            f"_rebuild_sparse_tensor: bad layout {bounded_repr(layout)}"
        )
    if not isinstance(data, tuple):
        raise EmulationError("_rebuild_sparse_tensor data must be a tuple")
    if layout.name == "sparse_coo":
        if len(data) not in (3, 4):
            raise EmulationError(
                "COO data must be (indices, values, size[, coalesced])"
            )
        coalesced = data[3] if len(data) == 4 else None
        if coalesced is not None:
            _bool(coalesced, "is_coalesced")
        return SparseTensor(
            "sparse_coo",
            int_tuple(data[2], "sparse size"),
            _tensor(data[1], "sparse values"),
            indices=_tensor(data[0], "sparse indices"),
            is_coalesced=coalesced,
        )
    if layout.name in ("sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc"):
        if len(data) != 4:
            raise EmulationError("compressed sparse data must have four items")
        return SparseTensor(
            layout.name,
            int_tuple(data[3], "sparse size"),
            _tensor(data[2], "sparse values"),
            compressed_indices=_tensor(data[0], "compressed indices"),
            plain_indices=_tensor(data[1], "plain indices"),
        )
    raise EmulationError(
        f"_rebuild_sparse_tensor: unsupported layout {bounded_repr(layout)}"
    )


def rebuild_qtensor(*args: object) -> Tensor:
    """``_rebuild_qtensor(storage, offset, size, stride, qparams, grad, hooks)``."""
    _arity("_rebuild_qtensor", args, 7, 7)
    tensor = _strided("_rebuild_qtensor", args)
    params = args[4]
    if not isinstance(params, tuple) or not params:
        raise EmulationError("quantizer parameters must be a non-empty tuple")
    scheme = params[0]
    if not isinstance(scheme, TorchConstant) or scheme.kind != "qscheme":
        raise EmulationError(f"bad qscheme {bounded_repr(scheme)}")
    if scheme.name in ("per_tensor_affine", "per_tensor_symmetric"):
        if len(params) != 3 or type(params[1]) is not float:
            raise EmulationError("per-tensor quantizer needs (scheme, scale, zero)")
        tensor.quantization = {
            "qscheme": scheme.name,
            "scale": params[1],
            "zero_point": _int(params[2], "zero point"),
        }
    else:
        if len(params) != 4:
            raise EmulationError("per-channel quantizer needs four parameters")
        axis = _int(params[3], "axis")
        if not 0 <= axis < len(tensor.shape):
            raise EmulationError(f"quantization axis {axis} out of range")
        for item in params[1:3]:
            if not isinstance(item, (Tensor, list)):
                raise EmulationError("per-channel scales must be a tensor or list")
            count = item.numel if isinstance(item, Tensor) else len(item)
            if count != tensor.shape[axis]:
                raise EmulationError("per-channel scales do not match the axis size")
        tensor.quantization = {
            "qscheme": scheme.name,
            "scales": params[1],
            "zero_points": params[2],
            "axis": axis,
        }
    tensor.requires_grad = _bool(args[5], "requires_grad")
    _check_hooks(args[6])
    return tensor


def rebuild_meta_tensor_no_storage(*args: object) -> Tensor:
    """``_rebuild_meta_tensor_no_storage(dtype, size, stride, requires_grad)``."""
    _arity("_rebuild_meta_tensor_no_storage", args, 4, 4)
    size = int_tuple(args[1], "meta size")
    stride = int_tuple(args[2], "meta stride")
    if len(size) != len(stride):
        raise EmulationError("meta tensor size and stride differ in length")
    tensor = Tensor(_dtype(args[0], "meta dtype"), size, stride, 0, None, "meta")
    tensor.requires_grad = _bool(args[3], "requires_grad")
    return tensor


def rebuild_wrapper_subclass(*args: object) -> Tensor:
    """``_rebuild_wrapper_subclass(cls, dtype, size, stride, offset, layout, ...)``."""
    _arity("_rebuild_wrapper_subclass", args, 8, 8)
    cls, dtype, size, stride, offset, _layout, device, requires_grad = args
    tensor = Tensor(
        _dtype(dtype, "dtype"),
        int_tuple(size, "size"),
        int_tuple(stride, "stride"),
        _int(offset, "storage offset"),
        None,
        str(device) if isinstance(device, (Device, str)) else "unknown",
    )
    tensor.subclass = cls
    tensor.requires_grad = _bool(requires_grad, "requires_grad")
    return tensor


def rebuild_device_tensor_from_cpu_tensor(*args: object) -> Tensor:
    """``_rebuild_device_tensor_from_cpu_tensor(data, dtype, device, grad)``."""
    _arity("_rebuild_device_tensor_from_cpu_tensor", args, 4, 4)
    data = _tensor(args[0], "data").copy()
    dtype = _dtype(args[1], "dtype")
    if dtype is not data.torch_dtype:
        raise EmulationError("dtype conversion on load is not emulated")
    if not isinstance(args[2], str):
        raise EmulationError("device must be a str")
    data.device = args[2]
    data.requires_grad = _bool(args[3], "requires_grad")
    return data


#: The dtypes ``torch.from_numpy`` accepts (the array's dtype must match).
_FROM_NUMPY = frozenset(
    [
        "float64",
        "float32",
        "float16",
        "complex128",
        "complex64",
        "int64",
        "int32",
        "int16",
        "int8",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "bool",
    ]
)


def _device_name(value: object) -> str:
    if isinstance(value, Device) or (isinstance(value, str) and len(value) <= 64):
        return str(value)
    raise EmulationError(f"device must be a device string, not {bounded_repr(value)}")


def _tensor_over_array(array: Any, dtype: DType, device: str) -> Tensor:
    """A tensor viewing a (C- or Fortran-contiguous) array's own bytes."""
    import numpy as np

    if type(array) is not np.ndarray:
        raise EmulationError(f"data must be a numpy array, not {type(array).__name__}")
    if dtype.name not in _FROM_NUMPY or array.dtype != dtype.numpy_dtype():
        raise EmulationError(
            f"a {array.dtype} array as a torch.{dtype.name} tensor: dtype "
            "conversion on load is not emulated"
        )
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        array = np.ascontiguousarray(array)
    # ravel(order="K") of a contiguous array is a view in memory order.
    data = np.ravel(array, order="K").view(np.uint8).data
    storage = Storage("numpy", data.nbytes, device, sys.byteorder, lambda: data)
    itemsize = dtype.itemsize
    return Tensor(
        dtype,
        tuple(array.shape),
        tuple(stride // itemsize for stride in array.strides),
        0,
        storage,
        device,
    )


def rebuild_device_tensor_from_numpy(*args: object) -> Tensor:
    """``_rebuild_device_tensor_from_numpy(data, dtype, device, requires_grad)``.

    Older torch saved XLA and other storage-less device tensors as a numpy
    array; the tensor views the array's bytes and keeps the saved device.
    """
    _arity("_rebuild_device_tensor_from_numpy", args, 4, 4)
    dtype = _dtype(args[1], "dtype")
    tensor = _tensor_over_array(args[0], dtype, _device_name(args[2]))
    tensor.requires_grad = _bool(args[3], "requires_grad")
    return tensor


def rebuild_nested_tensor(*args: object) -> NestedTensor:
    """``_rebuild_nested_tensor(buffer, sizes, strides, storage_offsets)``."""
    _arity("_rebuild_nested_tensor", args, 4, 4)
    return NestedTensor(
        _tensor(args[0], "nested buffer"),
        _tensor(args[1], "nested sizes"),
        _tensor(args[2], "nested strides"),
        _tensor(args[3], "nested offsets"),
    )


_REBUILDERS: dict[object, str] = {
    rebuild_tensor: "_rebuild_tensor",
    rebuild_tensor_v2: "_rebuild_tensor_v2",
    rebuild_tensor_v3: "_rebuild_tensor_v3",
    rebuild_parameter: "_rebuild_parameter",
    rebuild_parameter_with_state: "_rebuild_parameter_with_state",
    rebuild_sparse_tensor: "_rebuild_sparse_tensor",
    rebuild_qtensor: "_rebuild_qtensor",
    rebuild_meta_tensor_no_storage: "_rebuild_meta_tensor_no_storage",
    rebuild_wrapper_subclass: "_rebuild_wrapper_subclass",
    rebuild_device_tensor_from_cpu_tensor: "_rebuild_device_tensor_from_cpu_tensor",
    rebuild_nested_tensor: "_rebuild_nested_tensor",
    rebuild_device_tensor_from_numpy: "_rebuild_device_tensor_from_numpy",
}


class Device(ShownByRepr):
    """``torch.device``: a device type and optional index."""

    __slots__ = ("index", "type")

    def __init__(self, type: str, index: int | None = None) -> None:
        self.type = type
        self.index = index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device(type={self.type!r}" + (
            ")" if self.index is None else f", index={self.index})"
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Device):
            return (self.type, self.index) == (other.type, other.index)
        if isinstance(other, str):
            return str(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    def py_setstate(self, state: object) -> None:
        raise EmulationError("cannot set state on a device")


def make_device(*args: object) -> Device:
    """``torch.device("cpu")``, ``torch.device("cuda:0")``, ``torch.device(t, i)``."""
    _arity("torch.device", args, 1, 2)
    spec = args[0]
    if not isinstance(spec, str) or len(spec) > 64:
        raise EmulationError("torch.device expects a device string")
    index: int | None = None
    if len(args) == 2 and args[1] is not None:
        index = _int(args[1], "device index")
    elif ":" in spec:
        spec, _, number = spec.partition(":")
        if not number.isdigit():
            raise EmulationError(f"bad device string {bounded_repr(args[0])}")
        index = int(number)
    return Device(spec, index)


def make_size(*args: object) -> tuple[int, ...]:
    """``torch.Size(sizes)`` -> a tuple of ints."""
    _arity("torch.Size", args, 0, 1)
    return int_tuple(args[0], "torch.Size") if args else ()


def get_layout(*args: object) -> TorchConstant:
    """``torch.serialization._get_layout("torch.sparse_coo")``."""
    _arity("torch.serialization._get_layout", args, 1, 1)
    name = args[0]
    if isinstance(name, str) and name.startswith("torch."):
        constant = CONSTANTS.get(name[len("torch.") :])
        if constant is not None and constant.kind == "layout":
            return constant
    raise EmulationError(f"unknown layout {bounded_repr(name)}")


def register(registry: Registry) -> None:
    """Register the torch emulators (and numpy scalars) into ``registry``."""
    for function, name in _REBUILDERS.items():
        registry.register("torch._utils", name, function)
    registry.register("torch._utils", "_rebuild_from_type_v2", rebuild_from_type_v2)
    registry.register("torch._tensor", "_rebuild_from_type_v2", rebuild_from_type_v2)
    # torch keeps this old name as an alias of _rebuild_device_tensor_from_numpy.
    registry.register(
        "torch._utils", "_rebuild_xla_tensor", rebuild_device_tensor_from_numpy
    )
    for name, dtype in DTYPES.items():
        registry.register("torch", name, dtype)
    for name, storage_type in STORAGE_TYPES.items():
        registry.register("torch", name, storage_type)
        registry.register("torch.cuda", name, storage_type)
    registry.register(
        "torch.storage", "UntypedStorage", STORAGE_TYPES["UntypedStorage"]
    )
    for name, constant in CONSTANTS.items():
        registry.register("torch", name, constant)
    registry.register("torch.serialization", "_get_layout", get_layout)
    registry.register("torch", "device", make_device)
    registry.register("torch", "Size", make_size)
    for module, name in (("torch", "Tensor"), ("torch._tensor", "Tensor")):
        registry.register(module, name, _TENSOR_CLASS)
    for module, name in (
        ("torch.nn", "Parameter"),
        ("torch.nn.parameter", "Parameter"),
    ):
        registry.register(module, name, _PARAMETER_CLASS)
    for name in _LEGACY_TENSOR_TYPES:
        for module in ("torch", "torch.cuda"):
            registry.register(module, name, TensorClass(f"{module}.{name}"))
    if registry.resolve("numpy", "dtype") is None:
        # numpy scalars and arrays inside training checkpoints.
        import emulpickle_numpy

        emulpickle_numpy.register(registry)
