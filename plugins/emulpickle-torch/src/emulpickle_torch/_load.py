"""``load``: torch.save files (zip, legacy stream, legacy tar) without torch."""

from __future__ import annotations

import io
import mmap as _mmap
import os
import struct
from collections.abc import Callable
from typing import Any, Literal

import emulpickle
from emulpickle import Limits, Registry, Unpickler, current_limits, default_registry
from emulpickle.formats.tar import is_tar
from emulpickle.formats.zip import ZipMember

from ._archive import TorchZip
from ._checks import check_key, check_storage_id
from ._emulators import register
from ._source import BufferSource, FileSource, Source, SourceFile
from ._tar_load import load_tar
from ._tensor import Storage, TypedStorage
from .errors import TorchFormatError, TorchScriptArchiveError

__all__ = ["MAGIC_NUMBER", "load", "load_tree", "open_source", "torch_registry"]

#: The first pickle of a legacy (pre-1.6) torch.save file.
MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001

_REGISTRY: Registry | None = None


def torch_registry() -> Registry:
    """The read-only registry: the default registry plus the torch emulators."""
    global _REGISTRY
    if _REGISTRY is None:
        registry = Registry(parent=default_registry(), name="torch")
        register(registry)
        registry.freeze()
        _REGISTRY = registry
    return _REGISTRY


def _registry_for(registry: Registry | None) -> Registry:
    if registry is None:
        return torch_registry()
    if registry.resolve("torch._utils", "_rebuild_tensor_v2") is not None:
        return registry
    extended = Registry(parent=registry, name="torch")
    register(extended)
    return extended


def _map(fileno: int, private: bool) -> BufferSource | None:
    """The whole file mapped: read-only, or copy-on-write (MAP_PRIVATE) for
    real tensors, which must be writable without ever changing the file."""
    size = os.fstat(fileno).st_size
    if size == 0:
        return None
    access = _mmap.ACCESS_COPY if private else _mmap.ACCESS_READ
    mapped = _mmap.mmap(fileno, 0, access=access)
    return BufferSource(mapped, keep=mapped, private=private)


def open_source(file: Any, use_mmap: bool, private: bool = False) -> Source:
    """A source over ``file``; ``private``: real tensors will view it."""
    if isinstance(file, (bytes, bytearray, memoryview)):
        return BufferSource(file)  # the caller's bytes: storages are copied
    if isinstance(file, (str, os.PathLike)):
        handle = open(file, "rb")  # noqa: SIM115 - kept open for lazy reads
        try:
            if use_mmap:
                mapped = _map(handle.fileno(), private)
                handle.close()  # a map outlives its file descriptor
                return mapped if mapped is not None else BufferSource(b"")
            return FileSource(handle, os.fstat(handle.fileno()).st_size)
        except BaseException:
            handle.close()
            raise
    if isinstance(file, io.BytesIO):
        # Its buffer is the caller's: real tensors copy their storages.
        return BufferSource(file.getbuffer())
    if use_mmap:
        try:
            fileno = file.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            pass
        else:
            try:
                mapped = _map(fileno, private)
            except (OSError, ValueError):  # a pipe or socket: not mappable
                mapped = None
            if mapped is not None:
                return mapped
    if getattr(file, "seekable", lambda: False)():
        size = file.seek(0, os.SEEK_END)
        return FileSource(file, size)
    data = file.read()
    if private and use_mmap:
        # Read once into memory only this load holds: tensors view it.
        owned = bytearray(data)
        return BufferSource(owned, private=True)
    return BufferSource(data)


def load(
    file: Any,
    *,
    mmap: bool = True,
    tensors: Literal["emulated", "torch"] = "emulated",
    registry: Registry | None = None,
    unknown: emulpickle.Unknown = "error",
    max_inflate: int = 1 << 32,
    **options: Any,
) -> Any:
    """Load a ``torch.save`` file without importing torch or running its pickle.

    Reads the zip format, the legacy stream format (pre-1.6), the legacy tar
    format (pre-0.4) and plain pickles.

    Args:
        file: a path, a binary file object or a bytes-like object.
        mmap: memory-map the file, so tensors view it without copying (with
            ``mmap=False`` each storage is read from the file when first used).
        tensors: ``"emulated"`` (the default) gives inert
            :class:`emulpickle_torch.Tensor` s and needs no torch;
            ``"torch"`` gives real ``torch.Tensor`` / ``nn.Parameter`` (and
            sparse, quantized, nested, meta tensors) on the CPU, viewing a
            copy-on-write map of the file (writable; writes never reach the
            file). Needs torch; see :func:`emulpickle_torch.torch_load` for
            ``map_location``.
        registry: the registry answering globals; the torch emulators are
            added when it lacks them. Default: :func:`torch_registry`.
        unknown: ``"error"`` refuses unknown globals; ``"generic"`` makes
            them :class:`emulpickle.GenericObject` (e.g. whole ``nn.Module``).
        max_inflate: the most bytes a compressed record may inflate to.
        **options: further :class:`emulpickle.Unpickler` options. Their
            ``limits`` also bound the zip container: members
            (``max_archive_members``), bytes inflated per record
            (``max_inflate_ratio``) and in all, lazy reads of compressed
            records after ``load`` returns included (``max_inflated_bytes``).

    Returns:
        The saved object; tensors are :class:`emulpickle_torch.Tensor`
        (``torch.Tensor`` with ``tensors="torch"``).

    Raises:
        ImportError: ``tensors="torch"`` without torch installed.
        TorchScriptArchiveError: the file is a ``torch.jit.save`` archive.
        TorchFormatError: the container is malformed or hostile (e.g. a
            record listed twice, or records overlapping: a zip bomb).
        emulpickle.LimitExceededError: the container exceeds ``limits``.
        emulpickle.UnpicklingError: the pickle is (ForbiddenGlobalError, ...).
    """
    if tensors == "torch":
        from ._real import to_torch

        return to_torch(
            file,
            mmap=mmap,
            registry=registry,
            unknown=unknown,
            max_inflate=max_inflate,
            **options,
        )
    if tensors != "emulated":
        raise ValueError(
            'tensors must be "emulated" or "torch", not '
            f"{emulpickle.bounded_repr(tensors)}"
        )
    return load_tree(open_source(file, mmap), registry, unknown, max_inflate, options)


def load_tree(
    source: Source,
    registry: Registry | None,
    unknown: emulpickle.Unknown,
    max_inflate: int,
    options: dict[str, Any],
) -> Any:
    """The emulated object a ``torch.save`` file holds, read from ``source``."""
    if source.size == 0:
        raise TorchFormatError("empty file")
    options = dict(options, registry=_registry_for(registry), unknown=unknown)
    limits: Limits = options.get("limits") or current_limits()
    head = bytes(source.read(0, min(source.size, 4)))
    if head == b"PK\x03\x04":
        return _load_zip(TorchZip(source, limits, max_inflate), options)
    if is_tar(source):
        return load_tar(source, options, limits)
    return _load_stream(source, options)


# ------------------------------------------------------------------- zip


def _find_root(reader: TorchZip) -> str:
    names = reader.names()
    roots = [
        name[: -len("/data.pkl")]
        for name in names
        if name.endswith("/data.pkl") and name.count("/") == 1
    ]
    tops = {name.split("/", 1)[0] for name in names}
    # One pass over the names, not one per top directory (quadratic in a
    # zip of many members).
    with_code = {
        top
        for top, _, rest in (n.partition("/") for n in names)
        if rest.startswith("code/")
    }
    for top in tops:
        if reader.get(f"{top}/constants.pkl") is not None or top in with_code:
            raise TorchScriptArchiveError(
                "this is a TorchScript archive (torch.jit.save); it contains "
                "code and is not loaded by emulpickle"
            )
    if not roots:
        raise TorchFormatError("zip archive without a <root>/data.pkl record")
    if len(set(roots)) > 1:
        # torch reads the root of the first record; other readers may not.
        raise TorchFormatError("zip archive with several <root>/data.pkl records")
    root = roots[0]
    if not root or root in (".", "..") or any(c in root for c in "\\\x00:"):
        raise TorchFormatError(f"unsafe archive root name {root!r}")
    return root


def _load_zip(reader: TorchZip, options: dict[str, Any]) -> Any:
    root = _find_root(reader)
    byteorder = "little"
    order_entry = reader.get(f"{root}/byteorder")
    if order_entry is not None:
        if order_entry.size > 16:
            raise TorchFormatError("bad byteorder record")
        order = bytes(reader.read(order_entry))
        if order not in (b"little", b"big"):
            raise TorchFormatError(f"unknown byte order {order!r}")
        byteorder = order.decode()
    storages: dict[str, Storage] = {}

    def reader_for(entry: ZipMember) -> Callable[[], memoryview]:
        return lambda: reader.read(entry)

    def persistent_load(pid: Any) -> TypedStorage:
        if not isinstance(pid, tuple) or len(pid) != 5:
            raise TorchFormatError(
                f"unexpected persistent id {emulpickle.bounded_repr(pid)}"
            )
        typename, storage_type, raw_key, raw_location, numel = pid
        if typename not in ("storage", b"storage"):
            raise TorchFormatError(
                f"unknown persistent id type {emulpickle.bounded_repr(typename)}"
            )
        key, location = check_storage_id(storage_type, raw_key, raw_location, numel)
        itemsize = 1 if storage_type.untyped else storage_type.dtype.itemsize
        nbytes = numel * itemsize
        storage = storages.get(key)
        if storage is None:
            name = f"{root}/data/{key}"
            entry = reader.get(name)
            if entry is None:
                raise TorchFormatError(f"missing record {name!r}")
            if entry.size != nbytes:
                raise TorchFormatError(
                    f"record {name!r} holds {entry.size} bytes but the pickle "
                    f"declares {numel} elements ({nbytes} bytes)"
                )
            # Header, range and size checked; data not read.
            start, _ = reader.check(entry)
            stored = reader.is_stored(entry)
            storage = Storage(
                key,
                nbytes,
                location,
                byteorder,
                reader_for(entry),
                keep=stored,  # inflated bytes: only while used
                file_offset=start if stored else None,
            )
            storages[key] = storage
        elif storage.nbytes != nbytes:
            raise TorchFormatError(f"storage {key!r} is declared with two sizes")
        return TypedStorage(storage, storage_type.dtype, storage_type.untyped)

    pickle_entry = reader.get(f"{root}/data.pkl")
    if pickle_entry is None:  # listed only in another case: torch would read it
        raise TorchFormatError("zip archive without a <root>/data.pkl record")
    data = reader.read(pickle_entry)
    return emulpickle.loads(data, persistent_load=persistent_load, **options)


# ---------------------------------------------------------------- legacy


def _load_stream(source: Source, options: dict[str, Any]) -> Any:
    """A raw pickle, or the legacy format: pickles then raw storages."""
    stream = SourceFile(source)
    first = Unpickler(stream, **options).load()
    if type(first) is not int or first != MAGIC_NUMBER:
        return first  # a plain pickle
    protocol = Unpickler(stream, **options).load()
    if protocol != LEGACY_PROTOCOL_VERSION:
        raise TorchFormatError(
            f"unsupported legacy protocol version {emulpickle.bounded_repr(protocol)}"
        )
    sys_info = Unpickler(stream, **options).load()
    if not isinstance(sys_info, dict):
        raise TorchFormatError("legacy header is not a dict")
    roots: dict[str, tuple[Storage, int]] = {}
    views: dict[str, Storage] = {}

    def persistent_load(pid: Any) -> object:
        if not isinstance(pid, tuple) or not pid:
            raise TorchFormatError(
                f"unexpected persistent id {emulpickle.bounded_repr(pid)}"
            )
        if pid[0] in ("module", b"module") and len(pid) == 4:
            return pid[1]  # an nn.Module class (its source is ignored)
        if pid[0] not in ("storage", b"storage") or len(pid) != 6:
            raise TorchFormatError(
                f"unexpected persistent id {emulpickle.bounded_repr(pid)}"
            )
        _, storage_type, raw_key, raw_location, numel, view = pid
        key, location = check_storage_id(storage_type, raw_key, raw_location, numel)
        itemsize = storage_type.dtype.itemsize
        if key not in roots:
            roots[key] = (
                Storage(key, numel * itemsize, location, "little", None),
                itemsize,
            )
        storage = roots[key][0]
        if view is not None:
            if not (isinstance(view, tuple) and len(view) == 3):
                raise TorchFormatError(
                    f"bad storage view {emulpickle.bounded_repr(view)}"
                )
            view_key = check_key(view[0], "view key")
            offset, size = view[1], view[2]
            if type(offset) is not int or type(size) is not int:
                raise TorchFormatError(
                    f"bad storage view {emulpickle.bounded_repr(view)}"
                )
            if view_key not in views:
                views[view_key] = storage.slice(
                    offset * itemsize, size * itemsize, view_key
                )
            storage = views[view_key]
        return TypedStorage(storage, storage_type.dtype, storage_type.untyped)

    result = Unpickler(stream, persistent_load=persistent_load, **options).load()
    keys = Unpickler(stream, **options).load()
    if not isinstance(keys, list):
        raise TorchFormatError("legacy storage key list is not a list")
    position = stream.tell()
    seen: set[str] = set()
    for raw_key in keys:
        key = check_key(raw_key, "storage key")
        if key in seen or key not in roots:
            raise TorchFormatError(f"unexpected storage key {key!r}")
        seen.add(key)
        storage, itemsize = roots[key]
        source.check(position, 8, f"size of storage {key!r}")
        (count,) = struct.unpack("<q", source.read(position, 8))
        if count < 0 or count * itemsize != storage.nbytes:
            raise TorchFormatError(
                f"storage {key!r} holds {count} elements, the pickle declares "
                f"{storage.nbytes // itemsize}"
            )
        start = position + 8
        source.check(start, storage.nbytes, f"storage {key!r}")
        storage.bind(source.reader(start, storage.nbytes), start)
        position = start + storage.nbytes
    return result
