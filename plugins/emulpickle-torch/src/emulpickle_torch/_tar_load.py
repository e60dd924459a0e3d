"""The legacy tar ``torch.save`` format (torch before 0.4), read without torch.

The archive's members, as torch's ``_legacy_load`` reads them:

* ``storages``: a pickled count; per storage a pickled ``(key, location,
  storage type)``, then an int64 element count and the raw little-endian
  bytes; last, a pickled list of views ``(key, root key, offset, numel)``.
* ``tensors``: a pickled count; per tensor a pickled ``(key, storage key,
  tensor type)``, then ``ndim`` (an int32 and four unused bytes) and the
  sizes, strides and storage offset as int64s.
* ``pickle``: the saved object; its persistent ids are those keys (as
  decimal strings), or ``(module class, source file, source)`` tuples.
* ``sys_info``: ignored, as torch ignores it.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from typing import Any

from emulpickle import Limits, Unpickler, bounded_repr
from emulpickle.formats.tar import TarMember

from ._archive import read_tar_members
from ._checks import check_location, check_storage_type
from ._source import Source, SourceFile
from ._tensor import MAX_DIMS, Storage, Tensor, TypedStorage
from .errors import TorchFormatError

__all__ = ["load_tar"]

_PID = re.compile(r"-?[0-9]{1,40}")
_NDIM = struct.Struct("<i4x")

# What the persistent ids of the ``pickle`` member refer to, by key.
_Objects = dict[int, "TypedStorage | Tensor"]


def load_tar(source: Source, options: dict[str, Any], limits: Limits) -> Any:
    """Load a legacy tar checkpoint; ``options`` go to every unpickler.

    ``limits.max_archive_members`` bounds the members the archive may list.
    """
    members = read_tar_members(source, limits)
    objects: _Objects = {}
    _read_storages(_open(source, members, "storages"), objects, options)
    _read_tensors(_open(source, members, "tensors"), objects, options)

    def persistent_load(pid: object) -> object:
        if isinstance(pid, tuple):
            if not pid:
                raise TorchFormatError("empty persistent id")
            return pid[0]  # an nn.Module class saved with its source (ignored)
        found = objects.get(_pid_key(pid))
        if found is None:
            raise TorchFormatError(f"unknown persistent id {bounded_repr(pid)}")
        return found

    stream = _open(source, members, "pickle")
    return Unpickler(stream, persistent_load=persistent_load, **options).load()


def _open(source: Source, members: dict[str, TarMember], name: str) -> SourceFile:
    member = members.get(name)
    if member is None or not member.regular:
        raise TorchFormatError(f"legacy tar checkpoint without a {name!r} file")
    return SourceFile(source, member.offset, member.size)


def _pid_key(pid: object) -> int:
    """A persistent id as torch reads it: ``int(pid)``, for decimal ids only."""
    if type(pid) is int:
        return pid
    if isinstance(pid, bytes):
        pid = pid.decode("ascii", "replace")
    if not isinstance(pid, str) or not _PID.fullmatch(pid):
        raise TorchFormatError(f"unexpected persistent id {bounded_repr(pid)}")
    return int(pid)


def _key(value: object, what: str) -> int:
    # torch wrote ids and storage addresses: 64-bit values. Keys outside that
    # range are refused, so that a pickle cannot fill ``objects`` with ints
    # that share a hash (k * (2**61 - 1) for every k), which would make
    # inserting each one slower than the last.
    if type(value) is not int or not -(1 << 63) <= value < 1 << 64:
        raise TorchFormatError(
            f"{what} must be a 64-bit int, not {bounded_repr(value, max_chars=80)}"
        )
    return value


def _new_key(value: object, objects: _Objects, what: str) -> int:
    key = _key(value, what)
    if key in objects:
        raise TorchFormatError(f"{what} {key} is defined twice")
    return key


def _storage(objects: _Objects, value: object, what: str) -> TypedStorage:
    found = objects.get(_key(value, what))
    if not isinstance(found, TypedStorage):
        raise TorchFormatError(f"{what} {bounded_repr(value)} names no storage")
    return found


def _records(
    stream: SourceFile, options: dict[str, Any], what: str
) -> Iterator[tuple[Any, ...]]:
    """A pickled count, then that many pickled 3-tuples (each before raw data)."""
    count = Unpickler(stream, **options).load()
    # Every record takes at least one byte, so a larger count is a lie.
    if type(count) is not int or not 0 <= count <= stream.size:
        raise TorchFormatError(f"bad {what} count {bounded_repr(count)}")
    for _ in range(count):
        record = Unpickler(stream, **options).load()
        if not isinstance(record, tuple) or len(record) != 3:
            raise TorchFormatError(f"bad {what} record {bounded_repr(record)}")
        yield record


def _read(stream: SourceFile, length: int, what: str) -> bytes:
    data = stream.read(length)
    if data is None or len(data) != length:
        raise TorchFormatError(f"{what}: the tar member ends early")
    return data


def _read_storages(
    stream: SourceFile, objects: _Objects, options: dict[str, Any]
) -> None:
    for raw_key, raw_location, raw_type in _records(stream, options, "storage"):
        key = _new_key(raw_key, objects, "storage key")
        storage_type = check_storage_type(raw_type)
        location = check_location(raw_location)
        itemsize = storage_type.dtype.itemsize
        (numel,) = struct.unpack("<q", _read(stream, 8, f"size of storage {key}"))
        start = stream.tell()
        if not 0 <= numel <= (stream.size - start) // itemsize:
            raise TorchFormatError(
                f"storage {key} declares {numel} elements; the tar member holds "
                f"{stream.size - start} more bytes"
            )
        nbytes = numel * itemsize
        reader = stream.reader(start, nbytes)
        storage = Storage(
            str(key),
            nbytes,
            location,
            "little",
            reader,
            file_offset=stream.absolute(start),
        )
        objects[key] = TypedStorage(storage, storage_type.dtype, storage_type.untyped)
        stream.seek(start + nbytes)
    views = Unpickler(stream, **options).load()
    if not isinstance(views, (list, tuple)):
        raise TorchFormatError("the storage views are not a list")
    for view in views:
        if not isinstance(view, tuple) or len(view) != 4:
            raise TorchFormatError(f"bad storage view {bounded_repr(view)}")
        target = _new_key(view[0], objects, "storage view key")
        root = _storage(objects, view[1], "storage view root")
        offset = _key(view[2], "storage view offset")
        numel = _key(view[3], "storage view size")
        itemsize = root.dtype.itemsize
        part = root.storage.slice(offset * itemsize, numel * itemsize, str(target))
        objects[target] = TypedStorage(part, root.dtype, root.untyped)


def _read_tensors(
    stream: SourceFile, objects: _Objects, options: dict[str, Any]
) -> None:
    for raw_key, storage_key, _tensor_type in _records(stream, options, "tensor"):
        key = _new_key(raw_key, objects, "tensor key")
        typed = _storage(objects, storage_key, f"tensor {key}: storage")
        (ndim,) = _NDIM.unpack(_read(stream, 8, f"tensor {key}"))
        if not 0 <= ndim <= MAX_DIMS:
            raise TorchFormatError(f"tensor {key} has {ndim} dimensions")
        fields = struct.unpack(
            f"<{2 * ndim + 1}q", _read(stream, 8 * (2 * ndim + 1), f"tensor {key}")
        )
        objects[key] = Tensor(
            typed.dtype,
            fields[:ndim],
            fields[ndim : 2 * ndim],
            fields[2 * ndim],
            typed.storage,
            typed.storage.location,
        )
