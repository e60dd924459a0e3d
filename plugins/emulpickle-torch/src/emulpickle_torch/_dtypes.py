"""torch dtypes, storage types and other torch constants, as inert objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulpickle import EmulationError, render_text

__all__ = [
    "COMPLEX32",
    "DTYPES",
    "STORAGE_TYPES",
    "DType",
    "ShownByRepr",
    "StorageType",
    "TorchConstant",
    "dtype_by_name",
]


class ShownByRepr:
    """Objects whose own repr is short: ``emulpickle.bounded_repr`` uses it."""

    __slots__ = ()

    def __bounded_repr__(self, part: Callable[[object], None]) -> None:
        """The repr, under the budget of the rendering it is part of."""
        part(render_text(repr(self)))


class _Frozen(ShownByRepr):
    """Shared singletons: a pickle must never change them."""

    __slots__ = ()

    def py_setstate(self, state: object) -> None:
        raise EmulationError(f"cannot set state on {self!r}")

    def py_call(self, *args: object) -> object:
        raise EmulationError(f"{self!r} cannot be called from a pickle")


class DType(_Frozen):
    """A torch dtype such as ``torch.bfloat16``.

    Attributes:
        name: torch's name, e.g. ``"bfloat16"``.
        itemsize: bytes per element.
        numpy_name: the numpy (or ml_dtypes) type name, or None if numpy has
            no equivalent (the raw bytes are still available). numpy lacks
            ``"complex32"`` too: :meth:`numpy_dtype` gives the structured
            :data:`COMPLEX32` (float16 fields ``real`` and ``imag``) for it.
        swap_unit: size of the units that are byte-swapped for endianness
            (half the itemsize for complex numbers, 1 for byte types).
    """

    __slots__ = ("itemsize", "name", "numpy_name", "swap_unit")

    def __init__(
        self, name: str, itemsize: int, numpy_name: str | None, swap_unit: int
    ) -> None:
        self.name = name
        self.itemsize = itemsize
        self.numpy_name = numpy_name
        self.swap_unit = swap_unit

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (dtype_by_name, (self.name,))

    def numpy_dtype(self) -> Any:
        """The numpy dtype of the elements (native byte order)."""
        import numpy as np

        if self.numpy_name is None:
            raise TypeError(f"torch.{self.name} has no numpy equivalent")
        if self.numpy_name == "complex32":
            return np.dtype(COMPLEX32)
        if self.numpy_name in _ML_DTYPES:
            import ml_dtypes

            kind = getattr(ml_dtypes, self.numpy_name, None)
            if kind is None:
                raise TypeError(
                    f"torch.{self.name} needs ml_dtypes.{self.numpy_name}, "
                    "which this ml_dtypes version lacks"
                )
            return np.dtype(kind)
        return np.dtype(self.numpy_name)


#: numpy has no complex32: torch.chalf elements are viewed as this record.
COMPLEX32 = [("real", "=f2"), ("imag", "=f2")]

_ML_DTYPES = {
    "bfloat16",
    "float8_e4m3fn",
    "float8_e5m2",
    "float8_e4m3fnuz",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
}

# name, itemsize, numpy name, swap unit, aliases
_TABLE: list[tuple[str, int, str | None, int, tuple[str, ...]]] = [
    ("float64", 8, "float64", 8, ("double",)),
    ("float32", 4, "float32", 4, ("float",)),
    ("float16", 2, "float16", 2, ("half",)),
    ("bfloat16", 2, "bfloat16", 2, ()),
    ("int64", 8, "int64", 8, ("long",)),
    ("int32", 4, "int32", 4, ("int",)),
    ("int16", 2, "int16", 2, ("short",)),
    ("int8", 1, "int8", 1, ()),
    ("uint8", 1, "uint8", 1, ()),
    ("uint16", 2, "uint16", 2, ()),
    ("uint32", 4, "uint32", 4, ()),
    ("uint64", 8, "uint64", 8, ()),
    ("bool", 1, "bool", 1, ()),
    ("complex128", 16, "complex128", 8, ("cdouble",)),
    ("complex64", 8, "complex64", 4, ("cfloat",)),
    ("complex32", 4, "complex32", 2, ("chalf",)),
    ("float8_e4m3fn", 1, "float8_e4m3fn", 1, ()),
    ("float8_e5m2", 1, "float8_e5m2", 1, ()),
    ("float8_e4m3fnuz", 1, "float8_e4m3fnuz", 1, ()),
    ("float8_e5m2fnuz", 1, "float8_e5m2fnuz", 1, ()),
    ("float8_e8m0fnu", 1, "float8_e8m0fnu", 1, ()),
    ("float4_e2m1fn_x2", 1, "uint8", 1, ()),
    ("qint8", 1, "int8", 1, ()),
    ("quint8", 1, "uint8", 1, ()),
    ("qint32", 4, "int32", 4, ()),
    ("quint4x2", 1, "uint8", 1, ()),
    ("quint2x4", 1, "uint8", 1, ()),
    ("bits8", 1, "uint8", 1, ()),
    ("bits16", 2, "uint16", 2, ()),
    ("bits1x8", 1, "uint8", 1, ()),
    ("bits2x4", 1, "uint8", 1, ()),
    ("bits4x2", 1, "uint8", 1, ()),
]

#: Every dtype by torch name, aliases included (``torch.float`` is float32).
DTYPES: dict[str, DType] = {}
for _name, _size, _np, _unit, _aliases in _TABLE:
    _dtype = DType(_name, _size, _np, _unit)
    DTYPES[_name] = _dtype
    for _alias in _aliases:
        DTYPES[_alias] = _dtype


def dtype_by_name(name: str) -> DType:
    """The :class:`DType` called ``name`` (``"float32"``, ``"half"``, ...)."""
    return DTYPES[name]


class StorageType(_Frozen):
    """A storage class such as ``torch.FloatStorage`` (or ``torch.UntypedStorage``).

    Attributes:
        name: the class name.
        dtype: the element type; ``uint8`` for untyped storages.
        untyped: whether this is ``UntypedStorage`` (numel counts bytes).
    """

    __slots__ = ("dtype", "name", "untyped")

    def __init__(self, name: str, dtype: DType, untyped: bool = False) -> None:
        self.name = name
        self.dtype = dtype
        self.untyped = untyped

    def __repr__(self) -> str:
        return f"torch.{self.name}"


_STORAGE_TABLE = {
    "DoubleStorage": "float64",
    "FloatStorage": "float32",
    "HalfStorage": "float16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "BFloat16Storage": "bfloat16",
    "ComplexDoubleStorage": "complex128",
    "ComplexFloatStorage": "complex64",
    "QInt8Storage": "qint8",
    "QInt32Storage": "qint32",
    "QUInt8Storage": "quint8",
    "QUInt4x2Storage": "quint4x2",
    "QUInt2x4Storage": "quint2x4",
}

#: Every storage class by name.
STORAGE_TYPES: dict[str, StorageType] = {
    name: StorageType(name, DTYPES[dtype]) for name, dtype in _STORAGE_TABLE.items()
}
STORAGE_TYPES["UntypedStorage"] = StorageType(
    "UntypedStorage", DTYPES["uint8"], untyped=True
)


class TorchConstant(_Frozen):
    """A named torch constant: a layout, memory format or qscheme.

    Attributes:
        kind: ``"layout"``, ``"memory_format"`` or ``"qscheme"``.
        name: e.g. ``"sparse_coo"``, ``"channels_last"``, ``"per_tensor_affine"``.
    """

    __slots__ = ("kind", "name")

    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"


CONSTANTS: dict[str, TorchConstant] = {}
for _kind, _names in (
    (
        "layout",
        (
            "strided",
            "sparse_coo",
            "sparse_csr",
            "sparse_csc",
            "sparse_bsr",
            "sparse_bsc",
            "_mkldnn",
            "jagged",
        ),
    ),
    (
        "memory_format",
        ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format"),
    ),
    (
        "qscheme",
        (
            "per_tensor_affine",
            "per_channel_affine",
            "per_tensor_symmetric",
            "per_channel_symmetric",
            "per_channel_affine_float_qparams",
        ),
    ),
):
    for _cname in _names:
        CONSTANTS[_cname] = TorchConstant(_kind, _cname)
