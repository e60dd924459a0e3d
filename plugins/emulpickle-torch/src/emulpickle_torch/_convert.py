"""A checkpoint's state dict to safetensors or ``.npz``, without torch.

:func:`convert_checkpoint` is the public function (``emulpickle convert``
calls it). Nothing is left out silently: every tensor is written, recorded
as an alias of one that is, or listed as unsupported, and a conversion that
would leave tensors out fails unless ``skip_unsupported`` says otherwise.

What a file holds (the names are documented in docs/torch.md):

* dense tensors under their state-dict names; tensors inside tuples (a
  quantized layer's packed ``(weight, bias)``) as ``<key>.0``, ``<key>.1``;
* a tensor identical to an earlier one (same storage, offset, shape,
  stride, dtype: tied weights) once, the later name recorded in the
  metadata as ``removed name -> kept name``, as ``safetensors.torch.
  save_model`` does; other views of a shared storage are written as copies;
* quantized tensors as their integer representation under their name plus
  ``<name>.scale`` (float64) and ``<name>.zero_point`` (int64), 0-d per
  tensor or 1-d per channel, with ``<name>.axis`` (int64, 0-d) per channel;
  ``emulpickle.quantized`` in the metadata gives each one's dtype and qscheme;
* sparse tensors as their parts: ``<name>.indices`` and ``<name>.values``
  (COO) or ``<name>.crow_indices`` / ``col_indices`` (CSR, BSR) or
  ``ccol_indices`` / ``row_indices`` (CSC, BSC) and ``values``;
  ``emulpickle.sparse`` in the metadata gives the layout and dense shape;
* ``.npz`` only: dtypes numpy lacks (bfloat16, float8, float4) as their raw
  bits (uint16 / uint8), listed in ``emulpickle.dtypes`` in the metadata.

The metadata is safetensors' ``__metadata__`` str -> str map; in an
``.npz`` file the same pairs are a member ``__metadata__``, a ``(n, 2)``
array of str (``dict(np.load(f)["__metadata__"].tolist())``).
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import struct
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs

from emulpickle import GenericObject, bounded_repr, current_limits
from emulpickle.formats import FormatError, npz, safetensors

from ._tensor import NestedTensor, SparseTensor, Tensor
from .cli_support import (
    MODULE_STATE_KEYS,
    SAFETENSORS_DTYPES,
    TENSOR_TYPES,
    PickedStateDict,
    StateDictError,
    _follow,
    pick_state_dict,
)

__all__ = [
    "CHUNK",
    "FORMATS",
    "NPZ_DTYPES",
    "RAW_BITS",
    "ConversionError",
    "ConversionReport",
    "convert_checkpoint",
    "output_format",
]

#: Most bytes materialised at once while writing a tensor.
CHUNK = 16 << 20

#: Output file extension -> format.
FORMATS: Mapping[str, str] = {".safetensors": "safetensors", ".npz": "npz"}

#: torch dtype name -> the ``.npy`` dtype description of its elements.
NPZ_DTYPES: Mapping[str, object] = {
    "float64": "<f8",
    "float32": "<f4",
    "float16": "<f2",
    "int64": "<i8",
    "int32": "<i4",
    "int16": "<i2",
    "int8": "|i1",
    "uint64": "<u8",
    "uint32": "<u4",
    "uint16": "<u2",
    "uint8": "|u1",
    "bool": "|b1",
    "complex128": "<c16",
    "complex64": "<c8",
    "complex32": [("real", "<f2"), ("imag", "<f2")],
}

#: dtypes numpy's format cannot name, stored in ``.npz`` as raw bits of this
#: unsigned type (and listed in the ``emulpickle.dtypes`` metadata).
RAW_BITS: Mapping[str, str] = {
    "bfloat16": "uint16",
    "float8_e4m3fn": "uint8",
    "float8_e5m2": "uint8",
    "float8_e4m3fnuz": "uint8",
    "float8_e5m2fnuz": "uint8",
    "float8_e8m0fnu": "uint8",
    "float4_e2m1fn_x2": "uint8",
}

#: Quantized dtype -> the dtype of its integer representation.
_QUANTIZED_REPR = {
    "qint8": "int8",
    "quint8": "uint8",
    "qint32": "int32",
    "quint4x2": "uint8",
    "quint2x4": "uint8",
}

#: Sparse layout -> the names of its (compressed, plain) index tensors.
_SPARSE_INDICES = {
    "sparse_csr": ("crow_indices", "col_indices"),
    "sparse_bsr": ("crow_indices", "col_indices"),
    "sparse_csc": ("ccol_indices", "row_indices"),
    "sparse_bsc": ("ccol_indices", "row_indices"),
}

#: How many names an error message lists before "and N more".
_LISTED = 20


class ConversionError(ValueError):
    """A conversion refused before anything was written.

    Attributes:
        unsupported: name -> reason for each tensor that cannot be written
            (empty when the refusal is about something else: no state dict,
            an unknown output extension, a name clash).
        candidates: when no state dict was found, the keys (rendered with
            :func:`emulpickle.bounded_repr`) whose values are state dicts.
        partial: whether ``skip_unsupported=True`` would write the others.
    """

    def __init__(
        self,
        message: str,
        unsupported: Mapping[str, str] | None = None,
        candidates: list[str] | None = None,
        partial: bool = False,
    ) -> None:
        super().__init__(message)
        self.partial = partial
        self.unsupported = dict(unsupported or {})
        self.candidates = list(candidates or [])


@attrs.frozen
class ConversionReport:
    """What :func:`convert_checkpoint` wrote.

    Attributes:
        target: the file written.
        format: ``"safetensors"`` or ``"npz"``.
        written: the names of the tensors in the file, in file order
            (generated names such as ``<name>.scale`` included).
        nbytes: the size of the file.
        aliases: removed name -> kept name, for tensors identical to one
            written (tied weights); recorded in the file's metadata.
        copies: name -> the name of an earlier tensor whose storage it
            shares as a different view; each is written as its own copy.
        quantized: names of quantized tensors written as integer
            representation + scale / zero point.
        sparse: names of sparse tensors written as their parts.
        raw_dtypes: ``.npz`` only: name -> the torch dtype of a tensor
            stored as raw bits (see :data:`RAW_BITS`).
        skipped: name -> reason for each tensor *not* written (only with
            ``skip_unsupported=True``; otherwise these are an error).
        not_tensors: name -> type name of each state-dict entry that is not
            a tensor (dtypes, numbers...), which the formats cannot hold.
        found_at: the key the state dict was found at when not given.
    """

    target: str
    format: str
    written: tuple[str, ...]
    nbytes: int
    aliases: dict[str, str]
    copies: dict[str, str]
    quantized: tuple[str, ...]
    sparse: tuple[str, ...]
    raw_dtypes: dict[str, str]
    skipped: dict[str, str]
    not_tensors: dict[str, str]
    found_at: str | None

    def summary(self) -> str:
        """One line: what was written where."""
        parts = [
            f"wrote {len(self.written)} tensors ({self.nbytes} bytes) to {self.target}"
        ]
        if self.aliases:
            parts.append(f"{len(self.aliases)} aliases of tied tensors recorded")
        if self.skipped:
            parts.append(f"{len(self.skipped)} tensors SKIPPED")
        return "; ".join(parts)


def output_format(target: str | os.PathLike[str]) -> str:
    """The format of ``target``, by its extension (see :data:`FORMATS`).

    Raises:
        ConversionError: an extension that names no format.
    """
    ext = os.path.splitext(os.fspath(target))[1].lower()
    fmt = FORMATS.get(ext)
    if fmt is None:
        known = " or ".join(FORMATS)
        shown = bounded_repr(ext) if ext else "none"
        raise ConversionError(
            f"cannot tell the output format from the extension {shown}: use {known}"
        )
    return fmt


# ------------------------------------------------------------------ plan


@attrs.frozen
class _Item:
    """One array to write: its name, element dtype (a torch name), shape,
    size and bytes."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    chunks: Callable[[], Iterable[bytes | memoryview]]


def _tensor_chunks(array: Any) -> Iterator[Any]:
    """The C-order little-endian bytes of ``array``, ``CHUNK`` at a time."""
    import numpy as np

    if sys.byteorder == "big":  # pragma: no cover - both formats are LE
        array = array.byteswap()
    if array.size == 0:
        return
    if array.flags.c_contiguous:
        flat = array.reshape(-1).view(np.uint8)
        for start in range(0, flat.size, CHUNK):
            yield flat[start : start + CHUNK].data
        return
    # A strided view: materialise a block of leading rows at a time.
    row = max(1, array[0].nbytes)
    step = max(1, CHUNK // row)
    for start in range(0, array.shape[0], step):
        block = np.ascontiguousarray(array[start : start + step])
        yield block.reshape(-1).view(np.uint8).data


def _reader(tensor: Tensor) -> Callable[[], Iterator[Any]]:
    def generate() -> Iterator[Any]:
        try:
            # resolve=False for quantized tensors would change nothing;
            # numpy() of a quantized tensor gives its integer representation.
            yield from _tensor_chunks(tensor.numpy())
        finally:
            # Read each storage when it is written, then forget it: memory
            # stays flat however large the checkpoint.
            if tensor.storage is not None:
                tensor.storage.release()

    return generate


def _quantization_key(params: dict[str, Any] | None) -> object:
    """What tells two quantized tensors' parameters apart (tensors by identity)."""
    if params is None:
        return None
    return tuple(
        (k, id(v) if isinstance(v, Tensor) else tuple(v) if isinstance(v, list) else v)
        for k, v in sorted(params.items())
    )


def _packed(fmt: str, values: list[Any]) -> Callable[[], list[bytes]]:
    data = struct.pack(f"<{len(values)}{fmt}", *values)
    return lambda: [data]


class _Planner:
    """Decides what each state-dict entry becomes in the file."""

    def __init__(self, fmt: str) -> None:
        self.format = fmt
        self.items: list[_Item] = []
        self.names: set[str] = set()
        self.unsupported: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        self.copies: dict[str, str] = {}
        self.quantized: dict[str, dict[str, object]] = {}
        self.sparse: dict[str, dict[str, object]] = {}
        self.raw_dtypes: dict[str, str] = {}
        # (id(storage), offset, shape, stride, dtype, bits) -> name written
        self.views: dict[tuple[object, ...], str] = {}
        self.storages: dict[int, str] = {}
        self.limit = current_limits().max_emulator_alloc

    def supported(self, dtype: str) -> bool:
        if self.format == "safetensors":
            return dtype in SAFETENSORS_DTYPES
        return dtype in NPZ_DTYPES or dtype in RAW_BITS

    def add(self, item: _Item) -> None:
        self.items.append(item)
        self.names.add(item.name)

    def tensor(self, name: str, tensor: Tensor, part_of: str | None = None) -> None:
        """A dense (or quantized) tensor; ``part_of`` names the sparse tensor
        it is a part of."""
        where = part_of or name
        if tensor.storage is None:
            self.unsupported[where] = f"no data (a tensor on {tensor.device})"
            return
        if tensor.nbytes > max(tensor.storage.nbytes, self.limit):
            self.unsupported[where] = (
                f"would expand {tensor.storage.nbytes} stored bytes to {tensor.nbytes}"
            )
            return
        dtype = tensor.dtype
        if tensor.quantization is not None:
            if dtype not in _QUANTIZED_REPR:
                self.unsupported[where] = f"quantized dtype {dtype}"
                return
            dtype = _QUANTIZED_REPR[dtype]
        if not self.supported(dtype):
            self.unsupported[where] = f"{self.format} has no dtype {dtype}"
            return
        key = (
            id(tensor.storage),
            tensor.storage_offset,
            tuple(tensor.shape),
            tuple(tensor.stride),
            tensor.dtype,
            tensor.conj,
            tensor.neg,
            _quantization_key(tensor.quantization),
        )
        kept = self.views.get(key)
        if kept is not None and tensor.numel > 0:
            self.aliases[name] = kept
            return
        self.views[key] = name
        shared = self.storages.setdefault(id(tensor.storage), name)
        if shared != name and tensor.numel > 0:
            self.copies[name] = shared
        if tensor.quantization is not None:
            self.quantization(name, tensor)
        if dtype in RAW_BITS and self.format == "npz":
            self.raw_dtypes[name] = dtype
        self.add(
            _Item(name, dtype, tuple(tensor.shape), tensor.nbytes, _reader(tensor))
        )

    def quantization(self, name: str, tensor: Tensor) -> None:
        params = tensor.quantization
        assert params is not None
        record: dict[str, object] = {
            "dtype": tensor.dtype,
            "qscheme": params["qscheme"],
        }
        if "scale" in params:
            self.add(
                _Item(
                    f"{name}.scale", "float64", (), 8, _packed("d", [params["scale"]])
                )
            )
            zero = [params["zero_point"]]
            self.add(_Item(f"{name}.zero_point", "int64", (), 8, _packed("q", zero)))
        else:
            for suffix, value, dtype, fmt in (
                ("scale", params["scales"], "float64", "d"),
                ("zero_point", params["zero_points"], "int64", "q"),
            ):
                if isinstance(value, Tensor):
                    self.tensor(f"{name}.{suffix}", value, name)
                else:
                    values = [float(v) if fmt == "d" else int(v) for v in value]
                    size = 8 * len(values)
                    self.add(
                        _Item(
                            f"{name}.{suffix}",
                            dtype,
                            (len(values),),
                            size,
                            _packed(fmt, values),
                        )
                    )
            axis = params["axis"]
            self.add(_Item(f"{name}.axis", "int64", (), 8, _packed("q", [axis])))
            record["axis"] = axis
        self.quantized[name] = record

    def sparse_tensor(self, name: str, tensor: SparseTensor) -> None:
        if tensor.layout == "sparse_coo":
            assert tensor.indices is not None
            parts = [("indices", tensor.indices)]
        else:
            names = _SPARSE_INDICES.get(tensor.layout)
            if names is None or tensor.compressed_indices is None:
                self.unsupported[name] = f"sparse layout {tensor.layout}"
                return
            assert tensor.plain_indices is not None
            parts = [
                (names[0], tensor.compressed_indices),
                (names[1], tensor.plain_indices),
            ]
        parts.append(("values", tensor.values))
        before = len(self.unsupported)
        for suffix, part in parts:
            self.tensor(f"{name}.{suffix}", part, name)
        if len(self.unsupported) == before:
            self.sparse[name] = {"layout": tensor.layout, "shape": list(tensor.shape)}

    def entry(self, name: str, value: object) -> None:
        if isinstance(value, Tensor):
            self.tensor(name, value)
        elif isinstance(value, SparseTensor):
            self.sparse_tensor(name, value)
        elif isinstance(value, NestedTensor):
            self.unsupported[name] = "a nested (ragged) tensor"

    def metadata(self, extra: Mapping[str, str]) -> dict[str, str]:
        meta: dict[str, str] = {"format": "pt"}
        meta.update(extra)
        for removed, kept in self.aliases.items():
            if removed in meta:
                raise ConversionError(
                    f"metadata key {bounded_repr(removed)} is also the name of a "
                    "tied tensor whose alias must be recorded there"
                )
            meta[removed] = kept
        for key, record in (
            ("emulpickle.quantized", self.quantized),
            ("emulpickle.sparse", self.sparse),
            ("emulpickle.dtypes", self.raw_dtypes),
        ):
            if record:
                meta[key] = json.dumps(record, separators=(",", ":"))
        return meta


def _tensors_in(root: object, prefix: str) -> Iterator[tuple[str, object]]:
    """Every tensor reachable from ``root`` (dicts, lists, tuples, generic
    objects), with a path; each container visited once."""
    seen: set[int] = set()
    stack: list[tuple[str, object]] = [(prefix, root)]
    while stack:
        path, obj = stack.pop()
        if isinstance(obj, TENSOR_TYPES):
            yield path, obj
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, GenericObject):
            # A module's tensors are named as in its state dict: no
            # "state", "_parameters", "_modules" parts.
            state_part = "" if isinstance(obj.state, dict) else "state"
            children: list[tuple[str, object]] = [(state_part, obj.state)]
            children += [(f"args[{i}]", v) for i, v in enumerate(obj.args)]
            children += [(f"items[{i}]", v) for i, v in enumerate(obj.list_items)]
            children += [(f"[{bounded_repr(k)}]", v) for k, v in obj.dict_items.items()]
            children += [(f"{k}", v) for k, v in obj.kwargs.items()]
        elif isinstance(obj, dict):
            children = [
                ("" if k in MODULE_STATE_KEYS else k, v)
                if isinstance(k, str)
                else (f"[{bounded_repr(k)}]", v)
                for k, v in obj.items()
            ]
        elif isinstance(obj, (list, tuple)):
            children = [(str(i), v) for i, v in enumerate(obj)]
        else:
            continue
        for part, child in reversed(children):
            stack.append((f"{path}.{part}" if path and part else path or part, child))


def _parts(tensor: object) -> list[object]:
    if isinstance(tensor, SparseTensor):
        return [tensor, tensor.values, tensor.indices, tensor.compressed_indices]
    if isinstance(tensor, NestedTensor):
        return [tensor, tensor.buffer]
    return [tensor]


def _listing(unsupported: Mapping[str, str]) -> str:
    shown = [
        f"{bounded_repr(n)} ({why})" for n, why in list(unsupported.items())[:_LISTED]
    ]
    more = len(unsupported) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _check_target(target: str, overwrite: bool) -> None:
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"cannot write {target}: the directory {directory} does not exist"
        )
    if os.path.exists(target) and not overwrite:
        raise FileExistsError(f"{target} exists (overwrite it with overwrite=True)")


def _no_state_dict(
    source: object, key: str | None, exc: StateDictError
) -> ConversionError:
    """The error for a checkpoint without a state dict where it was looked for."""
    picked = source
    if key is not None:
        with contextlib.suppress(StateDictError):
            picked = _follow(source, key)
    found = dict(_tensors_in(picked, ""))
    if isinstance(picked, GenericObject) and found:
        # A pickled object whose tensors are not parameters or buffers (a
        # quantized module keeps its weights in packed parameters).
        missing = dict.fromkeys(found, "not a parameter or buffer")
        return ConversionError(
            f"{len(found)} tensors cannot be written: {_listing(missing)} "
            "(convert the module's state_dict() saved with torch.save)",
            missing,
        )
    return ConversionError(str(exc), candidates=exc.candidates)


def _plan(picked: PickedStateDict, fmt: str) -> tuple[_Planner, dict[str, str]]:
    """What to write for each entry, and the entries that are not tensors."""
    planner = _Planner(fmt)
    not_tensors: dict[str, str] = {}
    reached: set[int] = set()
    for name, value in picked.entries.items():
        if isinstance(value, TENSOR_TYPES):
            planner.entry(name, value)
            reached.update(id(p) for p in _parts(value))
        elif value is not None:
            # A tensor inside an object (a TorchScript class's state...).
            inside = list(_tensors_in(value, name))
            for path, tensor in inside:
                planner.unsupported[path] = f"inside a {type(value).__name__}"
                reached.update(id(p) for p in _parts(tensor))
            if not inside:
                not_tensors[name] = type(value).__name__
    # Tensors of the source that the state dict does not reach (a pickled
    # module's tensors outside its parameters and buffers).
    for path, tensor in _tensors_in(picked.source, ""):
        if id(tensor) not in reached:
            reached.update(id(p) for p in _parts(tensor))
            planner.unsupported[path] = "not a parameter or buffer"
    return planner, not_tensors


def convert_checkpoint(
    source: str | os.PathLike[str] | object,
    target: str | os.PathLike[str],
    *,
    key: str | None = None,
    metadata: Mapping[str, str] | None = None,
    overwrite: bool = False,
    skip_unsupported: bool = False,
    progress: Callable[[int, int], None] | None = None,
    **load_options: Any,
) -> ConversionReport:
    """Write the state dict of a torch checkpoint to safetensors or ``.npz``.

    Never imports torch nor runs anything the checkpoint names; needs numpy.
    The format is chosen by ``target``'s extension (:data:`FORMATS`). The
    file is written to a temporary file next to ``target`` and renamed, so
    a failed conversion leaves no partial file. See the module
    documentation for what the file holds.

    Args:
        source: a path to a ``torch.save`` file (loaded with
            :func:`emulpickle_torch.load`, ``unknown="generic"``), or an
            object tree already loaded by it.
        target: the file to write: ``*.safetensors`` or ``*.npz``.
        key: where the state dict is (see
            :func:`emulpickle_torch.cli_support.pick_state_dict`); by default
            the top-level dict of tensors, a pickled module's parameters and
            buffers, or the first of ``state_dict``, ``model``... holding one.
        metadata: str -> str pairs to store (``format`` is ``"pt"`` unless
            set here).
        overwrite: replace ``target`` if it exists.
        skip_unsupported: write what can be written when some tensors
            cannot (they are listed in :attr:`ConversionReport.skipped`);
            by default that is an error.
        progress: called as the data is written with the bytes written so
            far and the total.
        load_options: more keyword arguments for :func:`emulpickle_torch.load`.

    Returns:
        A :class:`ConversionReport`.

    Raises:
        ConversionError: an unknown extension, no state dict, tensors that
            cannot be written (listed in ``unsupported``), or a name clash.
        FileNotFoundError: ``target``'s directory does not exist.
        FileExistsError: ``target`` exists and ``overwrite`` is false.
        emulpickle.UnpicklingError: the checkpoint cannot be loaded.
    """
    target = os.fspath(target)
    fmt = output_format(target)
    _check_target(target, overwrite)
    if isinstance(source, (str, os.PathLike)):
        from ._load import load

        load_options.setdefault("unknown", "generic")
        # Not memory-mapped: with a map, every page read would stay in the RSS.
        load_options.setdefault("mmap", False)
        source = load(source, **load_options)

    try:
        picked = pick_state_dict(source, key)
    except StateDictError as exc:
        raise _no_state_dict(source, key, exc) from None
    planner, not_tensors = _plan(picked, fmt)
    names = collections.Counter(i.name for i in planner.items)
    dup = next((n for n, count in names.items() if count > 1), None)
    if dup is not None:
        raise ConversionError(
            f"two tensors would be named {bounded_repr(dup)} (a generated name "
            "such as <name>.scale clashes with an entry of the state dict)"
        )
    if planner.unsupported and not skip_unsupported:
        raise ConversionError(
            f"{len(planner.unsupported)} tensors cannot be written to {fmt}: "
            f"{_listing(planner.unsupported)}; nothing was written",
            planner.unsupported,
            partial=bool(planner.items),
        )
    if not planner.items:
        raise ConversionError("no tensor can be written")
    meta = planner.metadata(metadata or {})
    step = None
    if progress is not None:
        total = sum(i.nbytes for i in planner.items)
        done = [0]

        def step(n: int) -> None:
            done[0] += n
            progress(done[0], total)

    nbytes = _write(target, fmt, planner.items, meta, step)
    return ConversionReport(
        target=target,
        format=fmt,
        written=tuple(i.name for i in planner.items),
        nbytes=nbytes,
        aliases=planner.aliases,
        copies=planner.copies,
        quantized=tuple(planner.quantized),
        sparse=tuple(planner.sparse),
        raw_dtypes=planner.raw_dtypes,
        skipped=planner.unsupported,
        not_tensors=not_tensors,
        found_at=picked.found_at,
    )


def _write(
    target: str,
    fmt: str,
    items: list[_Item],
    meta: dict[str, str],
    progress: Callable[[int], None] | None,
) -> int:
    directory = os.path.dirname(os.path.abspath(target))
    fd, temp = tempfile.mkstemp(
        prefix=".emulpickle-", suffix=f".{fmt}.tmp", dir=directory
    )
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as out:
            if fmt == "safetensors":
                size = _write_safetensors(out, items, meta, progress)
            else:
                size = _write_npz(out, items, meta, progress)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return size


def _write_safetensors(
    out: Any, items: list[_Item], meta: dict[str, str], progress: Any
) -> int:
    entries = [
        safetensors.Entry(i.name, SAFETENSORS_DTYPES[i.dtype], i.shape, i.chunks)
        for i in items
    ]
    # Larger elements first keeps every tensor aligned to its element size.
    entries.sort(key=lambda e: (-safetensors.DTYPE_SIZES[e.dtype], e.name))
    try:
        return safetensors.write_file(out, entries, meta, progress)
    except ValueError as exc:
        raise ConversionError(str(exc)) from None


def _write_npz(
    out: Any, items: list[_Item], meta: dict[str, str], progress: Any
) -> int:
    members = [
        npz.Member(
            i.name,
            NPZ_DTYPES[RAW_BITS.get(i.dtype, i.dtype)],
            i.shape,
            i.nbytes,
            i.chunks,
        )
        for i in items
    ]
    if any(i.name == "__metadata__" for i in items):
        raise ConversionError("a tensor is named __metadata__, which .npz output uses")
    members.append(npz.text_table("__metadata__", sorted(meta.items())))
    try:
        return npz.write_file(out, members, progress)
    except FormatError as exc:
        raise ConversionError(str(exc)) from None
