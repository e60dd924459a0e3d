"""A streaming writer for the safetensors format.

Layout: an 8-byte little-endian header length, a JSON header mapping each
tensor name to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets
into the data section) plus an optional ``"__metadata__"`` str -> str map,
padded with spaces to a multiple of 8 bytes, then the tensors' raw
little-endian C-order bytes, back to back.

The header is computed from shapes and dtypes first; the data is then written
one tensor at a time, in chunks, so memory use does not grow with the file.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import BinaryIO

import attrs

__all__ = ["DTYPE_SIZES", "Entry", "build_header", "write_file"]

#: safetensors dtype name -> bytes per element.
DTYPE_SIZES: dict[str, int] = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U64": 8,
    "U32": 4,
    "U16": 2,
    "U8": 1,
    "BOOL": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "F8_E8M0": 1,
    "C64": 8,
}


@attrs.frozen
class Entry:
    """A tensor to write.

    Attributes:
        name: its name in the file.
        dtype: a safetensors dtype name (see :data:`DTYPE_SIZES`).
        shape: its shape.
        chunks: called once while writing; yields the C-order little-endian
            bytes (any bytes-like objects) totalling the tensor's size.
    """

    name: str
    dtype: str
    shape: tuple[int, ...]
    chunks: Callable[[], Iterable[bytes | memoryview]]

    @property
    def nbytes(self) -> int:
        """Its size in the file."""
        n = DTYPE_SIZES[self.dtype]
        for size in self.shape:
            n *= size
        return n


def build_header(entries: Sequence[Entry], metadata: dict[str, str] | None) -> bytes:
    """The padded JSON header for ``entries`` written in the given order."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    offset = 0
    for entry in entries:
        if entry.name in header:
            raise ValueError(f"duplicate tensor name {entry.name!r}")
        end = offset + entry.nbytes
        header[entry.name] = {
            "dtype": entry.dtype,
            "shape": list(entry.shape),
            "data_offsets": [offset, end],
        }
        offset = end
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    return raw + b" " * (-len(raw) % 8)


def write_file(
    out: BinaryIO,
    entries: Sequence[Entry],
    metadata: dict[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write a safetensors file to ``out``; returns the bytes written.

    ``progress`` is called with the number of data bytes after each chunk.
    """
    header = build_header(entries, metadata)
    out.write(struct.pack("<Q", len(header)))
    out.write(header)
    total = 8 + len(header)
    for entry in entries:
        written = 0
        for chunk in entry.chunks():
            n = out.write(chunk)
            if n is None:  # pragma: no cover - unbuffered raw writers
                n = len(memoryview(chunk).cast("B"))
            written += n
            if progress is not None:
                progress(n)
        if written != entry.nbytes:
            raise ValueError(
                f"{entry.name}: wrote {written} bytes, expected {entry.nbytes}"
            )
        total += written
    return total
