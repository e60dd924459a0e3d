"""The records of the oldest ``torch.save`` format (a tar archive), as torch reads them.

A tar checkpoint has a ``pickle`` member and two members of records,
``storages`` and ``tensors``: a pickled count, then per record a pickle
followed by raw bytes whose size that pickle (the storage class's element
size) or the bytes themselves (the tensor's rank) give. Every record's
pickle is scanned; a record whose size cannot be told is an error.
"""

from __future__ import annotations

from typing import Any

from ..unpickler import loads
from .collector import Collector
from .walk import Broken, Refs, walk

__all__ = ["scan_records"]

#: Bytes per element of the storage classes old (tar) torch.save files name.
_ELEMENT_SIZES = {
    "DoubleStorage": 8,
    "FloatStorage": 4,
    "HalfStorage": 2,
    "BFloat16Storage": 2,
    "LongStorage": 8,
    "IntStorage": 4,
    "ShortStorage": 2,
    "CharStorage": 1,
    "ByteStorage": 1,
    "BoolStorage": 1,
    "ComplexDoubleStorage": 16,
    "ComplexFloatStorage": 8,
}


def scan_records(
    ctx: Collector, data: Any, start: int, end: int, label: str, kind: str
) -> None:
    """``storages``/``tensors`` (``kind``) of a tar checkpoint in
    ``data[start:end]``: a count pickle, then per record a pickle and raw
    bytes (whose size the pickle or bytes give)."""
    pos = start
    number = 0
    records = -1
    while pos < end:
        number += 1
        where = f"{label} (pickle #{number})"
        refs: Refs = {}
        try:
            after = walk(data, pos, end, refs)
        except Broken as exc:
            ctx.report(refs, where, start)
            ctx.error(f"{where}: {exc.reason} (at offset {exc.offset - start})")
            return
        ctx.report(refs, where, start)
        if number == 1:
            count = _small_int(data[pos:after])
            if count is None:
                ctx.error(f"{where}: the record count is not an int")
                return
            records = count
        elif number - 1 > records:
            if kind == "tensors" or number - 2 > records:
                ctx.error(f"{where}: more pickles than the count says")
                return
            pos = after  # storages end with the pickled list of views
            continue
        else:
            skip = _record_size(data, after, end, refs, kind)
            if skip is None:
                ctx.error(f"{where}: cannot tell the size of the raw record after it")
                return
            after += skip
        pos = after
    if pos > end:
        ctx.error(f"{label}: a raw record ends beyond the member")


def _small_int(pickled: Any) -> int | None:
    """The value of a pickled int (no globals: checked by the caller's walk)."""
    try:
        value = loads(bytes(pickled))
    except Exception:
        return None
    return value if type(value) is int and 0 <= value < 1 << 32 else None


def _record_size(data: Any, pos: int, end: int, refs: Refs, kind: str) -> int | None:
    """How many raw bytes follow a record's pickle (None: cannot tell)."""
    if pos + 8 > end:
        return None
    if kind == "tensors":  # ndim (int32), 4 unused bytes, sizes, strides, offset
        ndim = int.from_bytes(data[pos : pos + 4], "little", signed=True)
        return 8 + 16 * ndim + 8 if 0 <= ndim <= 64 else None
    sizes = {
        _ELEMENT_SIZES[name]
        for module, name, _, _ in refs
        if module == "torch" and name in _ELEMENT_SIZES
    }
    if len(sizes) != 1:
        return None
    count = int.from_bytes(data[pos : pos + 8], "little", signed=True)
    return 8 + count * sizes.pop() if count >= 0 else None
