"""Inert tensors and storages: metadata plus lazily read, bounds-checked bytes."""

from __future__ import annotations

import copy
import math
import sys
import weakref
from collections.abc import Callable
from typing import Any

from emulpickle import EmulationError, bounded_repr, current_limits

from ._dtypes import DType, ShownByRepr

__all__ = [
    "NestedTensor",
    "SparseTensor",
    "Storage",
    "Tensor",
    "TypedStorage",
    "check_view",
]

#: numpy refuses arrays with more dimensions than this.
MAX_DIMS = 64
#: Longest device name a repr shows (emulators keep the pickle's string).
_MAX_DEVICE_SHOWN = 64


def _device_text(device: str) -> str:
    if len(device) <= _MAX_DEVICE_SHOWN:
        return device
    return device[: _MAX_DEVICE_SHOWN - 3] + "..."


def _shape_text(shape: tuple[int, ...]) -> str:
    # Sizes of tensors without storage are unchecked ints of any length.
    return bounded_repr(list(shape), max_chars=400)


class Storage(ShownByRepr):
    """A storage's bytes: a record of the checkpoint, read only when asked.

    Attributes:
        key: the storage key in the checkpoint (``data/<key>``).
        nbytes: size in bytes.
        location: the device it was saved from (``"cpu"``, ``"cuda:0"``...).
        byteorder: ``"little"`` or ``"big"``: the order of the stored bytes.
        base: for a view of another storage (legacy checkpoints), the
            storage it views (never itself a view), else None.
        base_offset: where the view starts in ``base``, in bytes.
        file_offset: where the bytes lie in the checkpoint file when they
            are stored there as they are (not compressed), else None: real
            tensors (``tensors="torch"``) map them from there.

    With ``keep=False`` (bytes inflated from a compressed record) the bytes
    are shared only while something (an array, a view) still uses them, and
    read again afterwards: a checkpoint of many compressed records then
    needs the memory of the ones in use, not of all it ever read.
    """

    def __init__(
        self,
        key: str,
        nbytes: int,
        location: str,
        byteorder: str,
        reader: Callable[[], memoryview] | None,
        *,
        keep: bool = True,
        file_offset: int | None = None,
    ) -> None:
        self.key = key
        self.file_offset = file_offset
        self.nbytes = nbytes
        self.location = location
        self.byteorder = byteorder
        self._reader = reader
        self._keep = keep
        self._buffer: memoryview | None = None
        self._shared: weakref.ref[object] | None = None
        # A view made by :meth:`slice` (legacy files) knows the storage it
        # views, so tools can tell that two views share bytes.
        self.base: Storage | None = None
        self.base_offset = 0

    def __repr__(self) -> str:
        return f"<Storage {self.key!r} {self.nbytes} bytes on {self.location}>"

    def bind(
        self, reader: Callable[[], memoryview], file_offset: int | None = None
    ) -> None:
        """Say where the bytes are (legacy files know it only at the end)."""
        self._reader = reader
        self.file_offset = file_offset

    def buffer(self) -> memoryview:
        """The stored bytes, in file byte order (zero-copy when memory-mapped)."""
        if self._buffer is not None:
            return self._buffer
        shared = None if self._shared is None else self._shared()
        if isinstance(shared, bytearray):
            return memoryview(shared)
        if self._reader is None:
            raise EmulationError(f"storage {self.key!r} has no data")
        data = self._reader()
        if data.nbytes != self.nbytes:
            raise EmulationError(
                f"storage {self.key!r}: expected {self.nbytes} bytes, "
                f"the record holds {data.nbytes}"
            )
        if self._keep:
            self._buffer = data
        else:
            # Every view and array made from ``data`` keeps ``data.obj``
            # alive; once none is left, the bytes are freed.
            self._shared = _weak(data)
        return data

    def release(self) -> None:
        """Forget bytes read so far; the next :meth:`buffer` reads them again.

        Lets a caller that streams tensors one by one (``emulpickle convert``)
        keep memory flat when the storage was read from a file, not mapped.
        """
        self._buffer = None
        self._shared = None

    def slice(self, offset: int, nbytes: int, key: str) -> Storage:
        """A storage viewing ``nbytes`` bytes of this one from ``offset``."""
        if offset < 0 or nbytes < 0 or offset + nbytes > self.nbytes:
            raise EmulationError(
                f"storage view {bounded_repr(key)} ({bounded_repr(offset)}+"
                f"{bounded_repr(nbytes)} bytes) exceeds storage "
                f"{self.key!r} ({self.nbytes} bytes)"
            )
        view = Storage(
            key,
            nbytes,
            self.location,
            self.byteorder,
            lambda: self.buffer()[offset : offset + nbytes],
            keep=self._keep,
        )
        view.base = self if self.base is None else self.base
        view.base_offset = self.base_offset + offset
        return view


def _weak(data: memoryview) -> weakref.ref[object] | None:
    """A weak reference to the bytearray that ``data`` views whole, if it is
    one that allows it (``None``: each use reads the bytes again; a view of
    a part of a storage reads its parent, which shares)."""
    owner = data.obj
    if not isinstance(owner, bytearray) or len(owner) != data.nbytes:
        return None
    try:
        return weakref.ref(owner)
    except TypeError:  # a plain bytearray: no weak references
        return None


class TypedStorage(ShownByRepr):
    """What a persistent id yields: a storage seen with an element type.

    Attributes:
        storage: the bytes.
        dtype: the element type (``uint8`` for ``UntypedStorage``).
        untyped: whether the pickle named ``UntypedStorage``.
    """

    def __init__(self, storage: Storage, dtype: DType, untyped: bool) -> None:
        self.storage = storage
        self.dtype = dtype
        self.untyped = untyped

    def __repr__(self) -> str:
        return f"<TypedStorage {self.dtype!r} of {self.storage!r}>"

    def py_setstate(self, state: object) -> None:
        raise EmulationError("cannot set state on a storage")


def _exact_int(value: object, what: str) -> int:
    if type(value) is not int:
        raise EmulationError(f"{what} must be an int, not {type(value).__name__}")
    return value


def int_tuple(value: object, what: str) -> tuple[int, ...]:
    """Validate a tuple/list of exact ints (a size or a stride)."""
    if not isinstance(value, (tuple, list)):
        raise EmulationError(f"{what} must be a tuple, not {type(value).__name__}")
    if len(value) > MAX_DIMS:
        raise EmulationError(f"{what} has {len(value)} dimensions (max {MAX_DIMS})")
    return tuple(_exact_int(v, what) for v in value)


def check_view(
    nbytes: int,
    itemsize: int,
    shape: tuple[int, ...],
    stride: tuple[int, ...],
    offset: int,
    what: str,
) -> None:
    """Refuse a view that reaches outside a storage of ``nbytes`` bytes."""
    if len(shape) != len(stride):
        raise EmulationError(
            f"{what}: size has {len(shape)} dimensions but stride {len(stride)}"
        )
    if offset < 0:
        raise EmulationError(f"{what}: negative storage offset {bounded_repr(offset)}")
    if any(s < 0 for s in shape):
        raise EmulationError(f"{what}: negative size {bounded_repr(shape)}")
    if any(s < 0 for s in stride):
        raise EmulationError(f"{what}: negative stride {bounded_repr(stride)}")
    numel = math.prod(shape)
    if numel * itemsize >= 1 << 62:
        raise EmulationError(f"{what}: size {bounded_repr(shape)} is too large")
    capacity = nbytes // itemsize
    if numel == 0:
        if offset > capacity:
            raise EmulationError(
                f"{what}: storage offset {bounded_repr(offset)} beyond the "
                f"storage ({capacity} "
                "elements)"
            )
        return
    last = offset + sum(st * (sz - 1) for sz, st in zip(shape, stride, strict=True))
    if last >= capacity:
        raise EmulationError(
            f"{what}: view (offset {bounded_repr(offset)}, size "
            f"{bounded_repr(shape)}, stride {bounded_repr(stride)}) needs "
            f"{bounded_repr(last + 1)} elements but the storage holds {capacity}"
        )


class Tensor(ShownByRepr):
    """A strided tensor from a checkpoint, as plain data.

    Attributes:
        dtype: torch's dtype name, e.g. ``"bfloat16"``.
        torch_dtype: the :class:`DType` (itemsize, numpy equivalent).
        shape: the size, a tuple of ints.
        stride: strides in elements.
        storage_offset: offset into the storage, in elements.
        device: the device it was saved on (``"cpu"``, ``"cuda:0"``, ``"meta"``).
        requires_grad: as saved.
        is_parameter: whether it was an ``nn.Parameter``.
        storage: the :class:`Storage` (shared by views of one storage), or
            None for tensors without data (meta, wrapper subclasses).
        conj, neg: torch's conjugate / negative bits; :meth:`numpy` applies them.
        layout: ``"strided"``.
        state: Python state saved with the tensor or parameter, if any.
        subclass: the tensor subclass named by the pickle, if any.
        quantization: for quantized tensors, a dict with ``qscheme`` and the
            scale / zero point (per tensor) or scales / zero points / axis.
    """

    layout = "strided"

    def __init__(
        self,
        dtype: DType,
        shape: tuple[int, ...],
        stride: tuple[int, ...],
        storage_offset: int,
        storage: Storage | None,
        device: str,
        requires_grad: bool = False,
    ) -> None:
        if storage is not None:
            check_view(
                storage.nbytes, dtype.itemsize, shape, stride, storage_offset, "tensor"
            )
        self.torch_dtype = dtype
        self.dtype = dtype.name
        self.shape = shape
        self.stride = stride
        self.storage_offset = storage_offset
        self.storage = storage
        self.device = device
        self.requires_grad = requires_grad
        self.is_parameter = False
        self.conj = False
        self.neg = False
        self.state: object = None
        self.subclass: object = None
        self.quantization: dict[str, Any] | None = None

    def __repr__(self) -> str:
        kind = "Parameter" if self.is_parameter else "Tensor"
        shape = _shape_text(self.shape)
        return f"<{kind} {self.dtype}{shape} on {_device_text(self.device)}>"

    def py_setstate(self, state: object) -> None:
        raise EmulationError("BUILD on a tensor is not supported")

    def copy(self) -> Tensor:
        """A shallow copy (shares the storage)."""
        return copy.copy(self)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        return self.torch_dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.numel * self.torch_dtype.itemsize

    def is_contiguous(self) -> bool:
        expected = 1
        for size, stride in zip(
            reversed(self.shape), reversed(self.stride), strict=True
        ):
            if size != 1 and stride != expected:
                return False
            expected *= size
        return True

    def _require_storage(self) -> Storage:
        if self.storage is None:
            raise ValueError(
                f"{self!r} has no data (device {_device_text(self.device)})"
            )
        return self.storage

    def _raw(self) -> Any:
        """The elements as unsigned units in native byte order, shape + (k,)."""
        import numpy as np

        storage = self._require_storage()
        dtype = self.torch_dtype
        unit = dtype.swap_unit
        per = dtype.itemsize // unit
        unit_dtype = np.dtype(f"u{unit}")
        shape = (*self.shape, per)
        if self.numel == 0:
            # A size like (0, 2**62) is valid in torch but not in numpy.
            try:
                return np.zeros(shape, unit_dtype)
            except ValueError as exc:
                raise EmulationError(f"{self!r}: {exc}") from None
        last = self.storage_offset + sum(
            st * (sz - 1) for sz, st in zip(self.shape, self.stride, strict=True)
        )
        start = self.storage_offset * dtype.itemsize
        length = (last + 1 - self.storage_offset) * dtype.itemsize
        buffer = storage.buffer()
        base = np.frombuffer(buffer, unit_dtype, count=length // unit, offset=start)
        if unit > 1 and storage.byteorder != sys.byteorder:
            base = base.byteswap()
            base.flags.writeable = False
        strides = (*(s * dtype.itemsize for s in self.stride), unit)
        return np.lib.stride_tricks.as_strided(
            base, shape=shape, strides=strides, writeable=False
        )

    def numpy(self, *, resolve: bool = True) -> Any:
        """The data as a numpy array, zero-copy where possible (read-only).

        bfloat16 and float8 use ml_dtypes; complex32 (``torch.chalf``), which
        numpy lacks, is a structured array with float16 fields ``real`` and
        ``imag``. A big-endian file is byte-swapped (a copy). With ``resolve``
        (the default) the conjugate / negative bits are applied, which copies;
        ``resolve=False`` gives the stored values.
        """
        raw = self._raw()
        array = raw.view(self.torch_dtype.numpy_dtype())[..., 0]
        if array.dtype.names is not None and resolve and (self.conj or self.neg):
            # numpy cannot conj or negate records: flip the fields' signs.
            array = array.copy()
            if self.neg:
                array["real"] = -array["real"]
            if self.conj != self.neg:
                array["imag"] = -array["imag"]
            return array
        if resolve and self.conj:
            array = array.conj()
        if resolve and self.neg:
            array = -array
        return array

    def tobytes(self) -> bytes:
        """The elements in C order and native byte order (bits applied)."""
        storage = self._require_storage()
        if self.numel == 0:
            return b""
        limit = max(storage.nbytes, current_limits().max_emulator_alloc)
        if self.nbytes > limit:
            raise EmulationError(
                f"{self!r} would expand {storage.nbytes} stored bytes to "
                f"{self.nbytes} bytes"
            )
        if self.conj or self.neg:
            return bytes(self.numpy().tobytes())
        if self.is_contiguous() and (
            self.torch_dtype.swap_unit == 1 or storage.byteorder == sys.byteorder
        ):
            start = self.storage_offset * self.itemsize
            return bytes(storage.buffer()[start : start + self.nbytes])
        return bytes(self._raw().tobytes())

    def dequantize(self) -> Any:
        """For a quantized tensor: ``(q - zero_point) * scale`` as float32 numpy."""
        import numpy as np

        if self.quantization is None:
            raise ValueError(f"{self!r} is not quantized")
        if self.dtype not in ("qint8", "quint8", "qint32"):
            raise ValueError(f"dequantize is not implemented for {self.dtype}")
        q = self.numpy().astype(np.float64)
        params = self.quantization
        if "scale" in params:
            return ((q - params["zero_point"]) * params["scale"]).astype(np.float32)
        axis = params["axis"]
        shape = [1] * q.ndim
        shape[axis] = -1
        scales = np.asarray(_values(params["scales"]), np.float64).reshape(shape)
        zeros = np.asarray(_values(params["zero_points"]), np.float64).reshape(shape)
        return ((q - zeros) * scales).astype(np.float32)


def _values(obj: object) -> Any:
    if isinstance(obj, Tensor):
        return obj.numpy()
    return obj


class SparseTensor(ShownByRepr):
    """A sparse tensor (COO, CSR, CSC, BSR or BSC) made of strided tensors.

    Attributes:
        layout: ``"sparse_coo"``, ``"sparse_csr"``, ...
        shape: the dense size.
        indices: COO indices (``ndim_sparse x nnz``), or None.
        values: the values tensor.
        compressed_indices, plain_indices: for compressed layouts.
        is_coalesced: COO only, as saved (None if unknown).
    """

    def __init__(
        self,
        layout: str,
        shape: tuple[int, ...],
        values: Tensor,
        *,
        indices: Tensor | None = None,
        compressed_indices: Tensor | None = None,
        plain_indices: Tensor | None = None,
        is_coalesced: bool | None = None,
    ) -> None:
        self.layout = layout
        self.shape = shape
        self.values = values
        self.indices = indices
        self.compressed_indices = compressed_indices
        self.plain_indices = plain_indices
        self.is_coalesced = is_coalesced
        self.requires_grad = False

    @property
    def dtype(self) -> str:
        return self.values.dtype

    def __repr__(self) -> str:
        return f"<SparseTensor {self.layout} {self.dtype}{_shape_text(self.shape)}>"

    def py_setstate(self, state: object) -> None:
        raise EmulationError("BUILD on a tensor is not supported")

    def to_dense(self) -> Any:
        """The dense numpy array (indices are bounds-checked)."""
        import numpy as np

        values = self.values.numpy()
        limit = current_limits().max_emulator_alloc
        if math.prod(self.shape) * values.itemsize > max(limit, 1):
            raise EmulationError(f"{self!r} is too large to densify")
        dense = np.zeros(self.shape, values.dtype)
        if self.layout == "sparse_coo":
            assert self.indices is not None
            index = self.indices.numpy()
            sparse_dims = index.shape[0]
            if index.ndim != 2 or sparse_dims > len(self.shape):
                raise EmulationError("COO indices have the wrong shape")
            for dim in range(sparse_dims):
                if index.shape[1] and (
                    index[dim].min() < 0 or index[dim].max() >= self.shape[dim]
                ):
                    raise EmulationError("COO index out of range")
            np.add.at(dense, tuple(index), values)
            return dense
        assert self.compressed_indices is not None and self.plain_indices is not None
        compressed = self.compressed_indices.numpy()
        plain = self.plain_indices.numpy()
        if compressed.ndim != 1 or plain.ndim != 1 or len(self.shape) != 2:
            raise EmulationError("only 2-D compressed sparse tensors are densified")
        row_major = self.layout in ("sparse_csr", "sparse_bsr")
        block = values.shape[1:3] if self.layout in ("sparse_bsr", "sparse_bsc") else ()
        bh, bw = block if block else (1, 1)
        outer = self.shape[0] // bh if row_major else self.shape[1] // bw
        inner_len = self.shape[1] // bw if row_major else self.shape[0] // bh
        if len(compressed) != outer + 1 or np.any(np.diff(compressed) < 0):
            raise EmulationError("compressed indices are inconsistent")
        if (
            compressed[0] != 0
            or compressed[-1] != len(plain)
            or len(plain) != len(values)
        ):
            raise EmulationError("compressed indices are inconsistent")
        if len(plain) and (plain.min() < 0 or plain.max() >= inner_len):
            raise EmulationError("plain index out of range")
        for i in range(outer):
            for k in range(int(compressed[i]), int(compressed[i + 1])):
                j = int(plain[k])
                r, c = (i, j) if row_major else (j, i)
                if block:
                    dense[r * bh : (r + 1) * bh, c * bw : (c + 1) * bw] += values[k]
                else:
                    dense[r, c] += values[k]
        return dense


class NestedTensor(ShownByRepr):
    """A nested (ragged) tensor: components viewing one flat buffer.

    Attributes:
        buffer: the 1-D buffer tensor.
        nested_sizes, nested_strides: 2-D int64 tensors, one row per component.
        nested_offsets: 1-D int64 tensor, offsets into the buffer (elements).
    """

    def __init__(
        self,
        buffer: Tensor,
        nested_sizes: Tensor,
        nested_strides: Tensor,
        nested_offsets: Tensor,
    ) -> None:
        self.buffer = buffer
        self.nested_sizes = nested_sizes
        self.nested_strides = nested_strides
        self.nested_offsets = nested_offsets
        self.requires_grad = False

    @property
    def dtype(self) -> str:
        return self.buffer.dtype

    def __repr__(self) -> str:
        return f"<NestedTensor {self.dtype}>"

    def py_setstate(self, state: object) -> None:
        raise EmulationError("BUILD on a tensor is not supported")

    def unbind(self) -> list[Tensor]:
        """The components, as bounds-checked tensors viewing the buffer's storage."""
        sizes = self.nested_sizes.numpy().tolist()
        strides = self.nested_strides.numpy().tolist()
        offsets = self.nested_offsets.numpy().tolist()
        if not (len(sizes) == len(strides) == len(offsets)):
            raise EmulationError("nested tensor metadata lengths differ")
        buffer = self.buffer
        return [
            Tensor(
                buffer.torch_dtype,
                int_tuple(size, "nested size"),
                int_tuple(stride, "nested stride"),
                buffer.storage_offset + _exact_int(offset, "nested offset"),
                buffer.storage,
                buffer.device,
            )
            for size, stride, offset in zip(sizes, strides, offsets, strict=True)
        ]
