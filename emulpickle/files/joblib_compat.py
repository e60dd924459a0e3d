"""joblib files written before joblib 0.10: a pickle, its arrays in sibling files.

``joblib.dump`` before 0.10 pickled each numpy array as a
``joblib.numpy_pickle.NDArrayWrapper`` naming a sibling ``.npy`` file
(``model.pkl_01.npy``, written by ``numpy.save``) or, with ``compress``, a
``ZNDArrayWrapper`` naming a sibling ``model.pkl_01.npy.z`` (joblib's own
zlib file, ``ZF`` and a hexadecimal length, holding the raw array bytes)
with the array's shape, dtype and order in the pickle; the compressed
pickle itself is such a file too. ``joblib.load`` still reads them, and puts
each array on the stack in its wrapper's place after the wrapper's BUILD.

Here the pickle is loaded by emulpickle's machine with a registry that
answers both wrappers with :class:`_OldWrapperClass`; each wrapper's BUILD
reads its sibling and returns (:class:`~emulpickle.machine.host.Replacement`)
the array. A sibling is read only when its name, as the pickle gives it, is
``<the file's own name>_NN.npy`` (``.npy.z`` for the compressed wrapper):
no path separator, no ``..``, nothing outside the file's own directory, and
only regular files (never a FIFO or a device). A ``.npy`` sibling is read by
the same bounded reader as any ``.npy`` file (plain data viewed read-only in
a memory map; an object array's pickle loaded by emulpickle with the same
options); a ``.z`` sibling is inflated within ``Limits.max_inflated_bytes``
(all siblings of one file together, and the compressed pickle) and
``Limits.max_inflate_ratio``, and must hold exactly the bytes its shape and
dtype say. Arrays come out in this machine's byte order, as
``joblib.load`` gives them.
"""

from __future__ import annotations

import io
import math
import os
import re
import stat
import sys
from typing import Any

from .._render import bounded_repr
from ..errors import EmulationError, LimitExceededError
from ..formats import FormatError
from ..formats.compressed import decompress, inflate_limit
from ..limits import Limits
from ..machine.host import Replacement
from ..registry import Registry
from ..unpickler import Unpickler
from .joblib import foreign_byte_order, native, numpy_module, plain_ndarray
from .loaders import format_error, load_npy
from .source import Input, read_input

__all__ = ["load_compat", "names_old_wrapper"]

_MODULE = "joblib.numpy_pickle"
#: The wrappers, and whether each names a compressed (``.z``) sibling.
_WRAPPERS = {"NDArrayWrapper": False, "ZNDArrayWrapper": True}
#: What each wrapper's BUILD may set (``allow_mmap`` since joblib 0.9).
_PLAIN_KEYS = frozenset({"filename", "subclass", "allow_mmap"})
_ZIPPED_KEYS = frozenset({"filename", "state", "init_args"})
_OTHER_ORDER = ">" if sys.byteorder == "little" else "<"


def names_old_wrapper(src: Input) -> bool:
    """Whether ``src`` names an old joblib wrapper anywhere (a cheap test)."""
    with src.mapped() as data:
        found = data.find(b"NDArrayWrapper")
        return bool(found >= 0)


class _OldWrapper:
    """An ``NDArrayWrapper`` (or ``ZNDArrayWrapper``) before its BUILD."""

    __slots__ = ("compressed",)

    def __init__(self, compressed: bool) -> None:
        self.compressed = compressed


class _OldWrapperClass:
    """``NDArrayWrapper`` / ``ZNDArrayWrapper``: instances only by NEWOBJ
    (``object.__new__``, as ``joblib.dump`` wrote them)."""

    __slots__ = ("compressed",)

    def __init__(self, compressed: bool) -> None:
        self.compressed = compressed

    def py_new(self, *args: object, **kwargs: object) -> object:
        """``object.__new__`` of the wrapper: an empty one."""
        return _OldWrapper(self.compressed)


class _Siblings:
    """Reads the sibling files of one old joblib file."""

    def __init__(
        self,
        origin: str | None,
        options: dict[str, Any],
        limits: Limits,
        inflated: int,
    ) -> None:
        self.origin = origin
        self.options = options
        self.limits = limits
        self.inflated = inflated
        self.ndarray = plain_ndarray(options["registry"])

    def build(self, wrapper: object, state: object) -> Replacement:
        """BUILD of a wrapper: the array its sibling holds."""
        assert isinstance(wrapper, _OldWrapper)
        keys = _ZIPPED_KEYS if wrapper.compressed else _PLAIN_KEYS
        if type(state) is not dict or not keys.issuperset(state):
            raise EmulationError(
                f"an old joblib array wrapper with state {bounded_repr(state)}"
            )
        path = self._sibling(state.get("filename"), wrapper.compressed)
        if wrapper.compressed:
            return Replacement(self._zipped(path, state))
        if state.get("subclass") is not self.ndarray:
            raise EmulationError(
                f"an old joblib array of class {bounded_repr(state.get('subclass'))} "
                "(only numpy.ndarray is read)"
            )
        array, _header = load_npy(read_input(path), dict(self.options))
        if foreign_byte_order(array.dtype):  # type: ignore[attr-defined]
            self._alloc(array.nbytes)  # type: ignore[attr-defined]
            array = native(array)
        return Replacement(array)

    def _sibling(self, name: object, compressed: bool) -> str:
        """The path of the sibling file ``name``, if the name is one joblib
        gave it: ``<this file's name>_NN.npy`` (``.npy.z``), same directory."""
        if self.origin is None:
            raise EmulationError(
                "a joblib file written before joblib 0.10 keeps its arrays "
                "in sibling files: open it by its path"
            )
        directory, base = os.path.split(self.origin)
        suffix = ".npy.z" if compressed else ".npy"
        pattern = re.escape(base) + "_[0-9]{2,9}" + re.escape(suffix)
        if not isinstance(name, str) or re.fullmatch(pattern, name) is None:
            raise EmulationError(
                f"an old joblib array in file {bounded_repr(name)}: only "
                f"{bounded_repr(base + '_NN' + suffix)} files beside it are read"
            )
        path = os.path.join(directory, name)
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise EmulationError(
                f"an old joblib array's file {bounded_repr(name)}: "
                f"{exc.strerror or type(exc).__name__}"
            ) from None
        if not stat.S_ISREG(mode):
            raise EmulationError(
                f"an old joblib array's file {bounded_repr(name)} is not a regular file"
            )
        return path

    def _zipped(self, path: str, state: dict[Any, Any]) -> object:
        """A ``ZNDArrayWrapper``'s array: its ``.z`` sibling's bytes, laid
        out as the shape, dtype and order in the pickle say."""
        np = numpy_module()
        init = state.get("init_args")
        if not (type(init) is tuple and len(init) == 3 and init[0] is self.ndarray):
            raise EmulationError(
                f"an old joblib array made by {bounded_repr(init)} "
                "(only numpy.ndarray is read)"
            )
        # ndarray.__setstate__'s arguments but the data: (version,) shape,
        # dtype, order.
        layout = state.get("state")
        if type(layout) is tuple and len(layout) == 4 and type(layout[0]) is int:
            layout = layout[1:]
        if type(layout) is not tuple or len(layout) != 3:
            raise EmulationError(f"an old joblib array state {bounded_repr(layout)}")
        shape, dtype, fortran = layout
        if (
            type(shape) is not tuple
            or len(shape) > 64
            or not all(type(n) is int and n >= 0 for n in shape)
        ):
            raise EmulationError(f"an old joblib array of shape {bounded_repr(shape)}")
        if not isinstance(dtype, np.dtype) or dtype.hasobject or dtype.itemsize == 0:
            raise EmulationError(f"an old joblib array of dtype {bounded_repr(dtype)}")
        if type(fortran) is not bool:
            raise EmulationError(f"an old joblib array order {bounded_repr(fortran)}")
        nbytes = math.prod(shape) * dtype.itemsize
        source = read_input(path)
        left = self.limits.max_inflated_bytes - self.inflated
        limit, limit_name = inflate_limit(
            source.size, left, self.limits.max_inflate_ratio
        )
        with source.mapped() as data:
            try:
                raw = decompress(data, "compat", limit, limit_name=limit_name)
            except FormatError as exc:
                raise format_error(exc, "an old joblib array file", "joblib") from None
        self.inflated += len(raw)
        if len(raw) != nbytes:
            raise EmulationError(
                f"an old joblib array of {nbytes} bytes in a file holding {len(raw)}"
            )
        flat = np.frombuffer(raw, dtype=dtype)  # writable: it views the bytearray
        if dtype.byteorder == _OTHER_ORDER:
            # ndarray.__setstate__ (what joblib calls) swaps a plain dtype
            # of the other byte order to this machine's (not a record's).
            flat = flat.byteswap(inplace=True).view(dtype.newbyteorder("="))
        return flat.reshape(shape, order="F" if fortran else "C")

    def _alloc(self, nbytes: int) -> None:
        if nbytes > self.limits.max_emulator_alloc:
            raise LimitExceededError(
                f"an old joblib array of {nbytes} bytes to byte-swap (more than "
                f"max_emulator_alloc={self.limits.max_emulator_alloc})",
                limit="max_emulator_alloc",
            )


def load_compat(
    src: Input,
    options: dict[str, Any],
    limits: Limits,
    origin: str | None,
    inflated: int = 0,
) -> object:
    """The object an old joblib pickle holds, each array read from its
    sibling file beside ``origin`` (the path of the file the pickle came
    from; None when it came from memory: then any wrapper is refused).
    ``inflated`` is how many bytes inflating the pickle took already.

    Raises:
        UnpicklingError: the pickle fails, a sibling's name is not one
            joblib gives, a sibling is missing, broken or disagrees with
            its wrapper (:class:`~emulpickle.LimitExceededError` past the
            inflation limits).
    """
    reader = _Siblings(origin, options, limits, inflated)
    registry = Registry(parent=options["registry"], name="old joblib arrays")
    for name, compressed in _WRAPPERS.items():
        registry.register(_MODULE, name, _OldWrapperClass(compressed))
    registry.register_state_setter(_OldWrapper, reader.build)
    with src.mapped() as data:
        stream = io.BytesIO(bytes(data))
    return Unpickler(stream, **{**options, "registry": registry}).load()
