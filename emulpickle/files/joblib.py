"""joblib files for :func:`emulpickle.open_file`: a pickle with arrays in its stream.

``joblib.dump`` pickles each numpy array as a
``joblib.numpy_pickle.NumpyArrayWrapper`` and writes the array's bytes (or,
for a dtype holding objects, a nested pickle) into the stream right after
that wrapper's BUILD; ``joblib.load`` reads them there and puts the array
on the stack in the wrapper's place.

The design: the scanner's joblib walker (:func:`emulpickle.scanner.joblib.walk`,
the one place that knows where such data ends) finds every array's bytes
first; what remains, the pickle around them, is loaded by emulpickle's own
machine with a registry that answers ``NumpyArrayWrapper`` with
:class:`_WrapperClass`. Each wrapper's BUILD takes the next array's bytes,
in stream order, checks them against the state the machine built (dtype
from the numpy plugin, shape, order, padding: the sizes must agree exactly,
so an array never claims more bytes than the file holds), and returns
(:class:`~emulpickle.machine.host.Replacement`) the array. A BUILD of a
wrapper outside this load has no array reader and is refused.

Arrays are real :class:`numpy.ndarray` objects: from a file on disk, aligned
plain data in this machine's byte order is viewed in place, read-only, in a
memory map (as ``joblib.load(mmap_mode="r")`` gives it); otherwise the data
is copied: from a compressed file, as large as the inflated stream holds
(the inflation limits bound it already); from bytes in memory or unaligned,
within ``Limits.max_emulator_alloc``. An array in the other byte order
comes out in this machine's, values kept, as ``joblib.load`` swaps it.
Object arrays are their nested pickle loaded by emulpickle with the same
options. joblib's format before 0.10 (``NDArrayWrapper`` and sibling
``.npy`` files) is read by :mod:`emulpickle.files.joblib_compat`.
"""

from __future__ import annotations

import io
import math
from typing import Any

from .._render import bounded_repr
from ..errors import EmulationError, LimitExceededError, UnpicklingError
from ..limits import Limits
from ..machine.host import Replacement
from ..registry import Registry
from ..scanner.joblib import ArrayData, walk
from ..scanner.walk import Broken
from ..unpickler import Unpickler
from .errors import PluginRequiredError
from .plugins import install_command
from .source import Input

__all__ = [
    "WRAPPER",
    "foreign_byte_order",
    "load_joblib",
    "names_wrapper",
    "native",
    "numpy_module",
    "plain_ndarray",
]

#: The global ``joblib.dump`` names for each array.
WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")
_MARKER = WRAPPER[0].encode()
#: The attributes joblib's wrapper has (a BUILD may set no other).
_ATTRIBUTES = frozenset(
    {
        "subclass",
        "shape",
        "order",
        "dtype",
        "allow_mmap",
        "numpy_array_alignment_bytes",
    }
)
#: numpy's own bound on dimensions (NPY_MAXDIMS in numpy 2).
_MAX_DIMS = 64


def names_wrapper(src: Input) -> bool:
    """Whether ``src`` names joblib's array module anywhere (a cheap test
    before walking it as a joblib stream)."""
    with src.mapped() as data:
        return _find(data) >= 0


def _find(data: Any) -> int:
    if isinstance(data, bytes):
        return data.find(_MARKER)
    return int(data.find(_MARKER))  # an mmap


class _Wrapper:
    """A ``NumpyArrayWrapper`` the pickle made, before its BUILD."""

    __slots__ = ()


class _WrapperClass:
    """``joblib.numpy_pickle.NumpyArrayWrapper``: instances only by NEWOBJ
    (``object.__new__``, as ``joblib.dump`` writes them)."""

    __slots__ = ()

    def py_new(self, *args: object, **kwargs: object) -> object:
        """``NumpyArrayWrapper.__new__``: an empty wrapper."""
        return _Wrapper()


class _Arrays:
    """The array data of one joblib stream, handed out in stream order."""

    def __init__(
        self,
        data: Any,
        arrays: list[ArrayData],
        options: dict[str, Any],
        limits: Limits,
        in_place: bool,
        inflated: bool,
    ) -> None:
        self.view = memoryview(data)
        self.inflated = inflated
        self.arrays = arrays
        self.options = options
        self.limits = limits
        self.in_place = in_place
        self.taken = 0
        self.ndarray = plain_ndarray(options["registry"])

    def build(self, wrapper: object, state: object) -> Replacement:
        """BUILD of a wrapper: the array it stands for, from the stream."""
        np = numpy_module()
        if type(state) is not dict or not _ATTRIBUTES.issuperset(state):
            raise EmulationError(
                f"a joblib array wrapper with state {bounded_repr(state)}"
            )
        if self.taken >= len(self.arrays):
            raise EmulationError("a joblib array wrapper without array data")
        where = self.arrays[self.taken]
        self.taken += 1
        subclass = state.get("subclass")
        if subclass is not self.ndarray:
            raise EmulationError(
                f"a joblib array of class {bounded_repr(subclass)} "
                "(only numpy.ndarray is read)"
            )
        dtype = state.get("dtype")
        if not isinstance(dtype, np.dtype):
            raise EmulationError(
                f"a joblib array with dtype {bounded_repr(dtype)} "
                "(the numpy plugin builds dtypes: is it installed?)"
            )
        if dtype.hasobject != where.objects:
            raise EmulationError(
                "a joblib array whose data is not where its dtype says"
            )
        if where.objects:
            return Replacement(self._objects(where, np))
        shape = _shape(state.get("shape"))
        order = state.get("order", "C")
        if order not in ("C", "F"):
            raise EmulationError(f"a joblib array of order {bounded_repr(order)}")
        padded = where.start != where.cut
        if padded == (state.get("numpy_array_alignment_bytes") is None):
            raise EmulationError("a joblib array whose padding is not what it says")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if nbytes != where.end - where.start:
            raise UnpicklingError(
                f"a joblib array header claims {nbytes} bytes; the stream "
                f"holds {where.end - where.start} for it",
                offset=where.start,
            )
        data = self.view[where.start : where.end]
        array = np.frombuffer(data, dtype=dtype, count=count)
        swap = foreign_byte_order(dtype)
        if swap or not (self.in_place and where.start % max(dtype.alignment, 1) == 0):
            # A decompressed stream's bytes were bounded by the inflation
            # limits already, and the copy is exactly as large (the sizes
            # agree above): only other copies count against
            # max_emulator_alloc.
            if not self.inflated and nbytes > self.limits.max_emulator_alloc:
                raise LimitExceededError(
                    f"a joblib array of {nbytes} bytes (more than "
                    f"max_emulator_alloc={self.limits.max_emulator_alloc})",
                    limit="max_emulator_alloc",
                )
            array = native(array) if swap else array.copy()
        if order == "F":
            return Replacement(array.reshape(shape[::-1]).transpose())
        return Replacement(array.reshape(shape))

    def _objects(self, where: ArrayData, np: Any) -> object:
        """An object array: its nested pickle, loaded by emulpickle."""
        options = dict(self.options)
        stream = io.BytesIO(self.view[where.start : where.end])
        try:
            value = Unpickler(stream, **options).load()
        except UnpicklingError as exc:
            if exc.offset is not None:
                exc.offset += where.start
            raise
        if not isinstance(value, np.ndarray):
            raise EmulationError(
                f"a joblib object array whose pickle holds {bounded_repr(value)}"
            )
        return value


_NOT_FOUND = object()


def plain_ndarray(registry: Registry) -> object:
    """What ``registry`` answers ``numpy.ndarray`` with (the class a
    wrapper's ``subclass`` must be), or a sentinel nothing is."""
    plain = registry.resolve("numpy", "ndarray")
    return _NOT_FOUND if plain is None else plain.value


def foreign_byte_order(dtype: Any) -> bool:
    """Whether ``joblib.load`` swaps an array of ``dtype`` to this machine's
    byte order: its order is the other one, or it is a record whose fields
    all are (joblib's rule; a record with mixed orders stays as it is)."""
    import sys

    other = ">" if sys.byteorder == "little" else "<"
    if dtype.byteorder == other:
        return True
    fields = dtype.fields
    return bool(
        dtype.byteorder == "|"
        and fields
        and all(field[0].byteorder == other for field in fields.values())
    )


def native(array: Any) -> Any:
    """A copy of ``array`` in this machine's byte order, values kept (as
    ``joblib.load`` gives a foreign-order array)."""
    return array.byteswap().view(array.dtype.newbyteorder("="))


def _shape(value: object) -> tuple[int, ...]:
    if (
        type(value) is not tuple
        or len(value) > _MAX_DIMS
        or not all(type(n) is int and n >= 0 for n in value)
    ):
        raise EmulationError(f"a joblib array of shape {bounded_repr(value)}")
    return value


def numpy_module() -> Any:
    """numpy, or PluginRequiredError naming the plugin that installs it."""
    try:
        import numpy
    except ImportError:
        raise PluginRequiredError(
            "a joblib file with numpy arrays: reading them needs numpy "
            f"({install_command('numpy')}, which installs numpy)",
            format="joblib",
            plugin="numpy",
            install=install_command("numpy"),
        ) from None
    return numpy


def load_joblib(
    src: Input, options: dict[str, Any], limits: Limits, *, inflated: bool = False
) -> object:
    """The object a joblib stream holds, its arrays in place, or
    :data:`NOT_JOBLIB` when it holds no joblib array data (a plain pickle:
    the caller loads it as one).

    Raises:
        UnpicklingError: the stream cannot be followed (an array runs past
            the end of the data, a wrapper state the walker cannot follow),
            the pickle fails, or an array's header and data disagree
            (:class:`~emulpickle.LimitExceededError` when an array copied
            from a stream that was not ``inflated`` from a compressed file
            is beyond ``max_emulator_alloc``; an inflated one was bounded
            by the inflation limits); PluginRequiredError without numpy.
    """
    with src.mapped() as data:
        arrays: list[ArrayData] = []
        try:
            end = walk(data, 0, src.size, {}, arrays)
        except Broken as exc:
            raise UnpicklingError(
                f"a joblib file: {exc.reason}", offset=exc.offset
            ) from None
        if not arrays:
            return NOT_JOBLIB
        parts = []
        done = 0
        for where in arrays:
            parts.append(bytes(data[done : where.cut]))
            done = where.end
        parts.append(bytes(data[done:end]))
        reader = _Arrays(data, arrays, options, limits, src.path is not None, inflated)
        registry = Registry(parent=options["registry"], name="joblib arrays")
        registry.register(*WRAPPER, _WrapperClass())
        registry.register_state_setter(_Wrapper, reader.build)
        value = Unpickler(
            io.BytesIO(b"".join(parts)), **{**options, "registry": registry}
        ).load()
        if reader.taken != len(arrays):
            raise EmulationError(
                f"a joblib file with {len(arrays)} arrays of which "
                f"{reader.taken} were built"
            )
        reader.view = memoryview(b"")  # the map may close if no array views it
        return value


#: What :func:`load_joblib` returns for a stream with no joblib arrays.
NOT_JOBLIB = object()
