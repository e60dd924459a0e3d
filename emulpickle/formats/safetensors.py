"""The safetensors format: a streaming writer, and a checker of its header.

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
from typing import Any, BinaryIO

import attrs

from ._source import FormatError

__all__ = [
    "DTYPE_SIZES",
    "MAX_HEADER_SIZE",
    "Entry",
    "build_header",
    "check_file",
    "write_file",
]

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


#: The most bytes a safetensors header may hold (the safetensors library's
#: own bound).
MAX_HEADER_SIZE = 100_000_000


def check_file(data: Any) -> int:
    """Check that ``data`` (the bytes or memory map of a whole file) is a
    safetensors file as the safetensors library reads it; return how many
    tensors it holds.

    The header must be a JSON object (at most :data:`MAX_HEADER_SIZE`
    bytes) whose ``__metadata__``, if any, maps str to str, and whose every
    other entry has a known dtype, a shape of non-negative ints and
    ``data_offsets`` that, sorted, tile the data section exactly with
    ``nbytes`` of dtype and shape each (no gap, no overlap, nothing left).

    Raises:
        FormatError: anything else.
    """
    size = len(data)
    if size < 8:
        raise FormatError("safetensors: shorter than its 8-byte header length")
    length = int.from_bytes(bytes(data[:8]), "little")
    if length > MAX_HEADER_SIZE:
        raise FormatError(f"safetensors: a header of {length} bytes (too large)")
    if 8 + length > size:
        raise FormatError("safetensors: the header runs past the end of the file")
    try:
        header = json.loads(bytes(data[8 : 8 + length]).decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"safetensors: the header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise FormatError("safetensors: the header is not a JSON object")
    spans: list[tuple[int, int]] = []
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(
                isinstance(v, str) for v in entry.values()
            ):
                raise FormatError("safetensors: __metadata__ is not a str -> str map")
            continue
        spans.append(_tensor_span(name, entry))
    spans.sort()
    at = 0
    for begin, end in spans:
        if begin != at:
            raise FormatError("safetensors: the tensors' data overlap or leave a gap")
        at = end
    if at != size - 8 - length:
        raise FormatError(
            f"safetensors: the tensors hold {at} bytes, the data section "
            f"{size - 8 - length}"
        )
    return len(spans)


def _tensor_span(name: str, entry: object) -> tuple[int, int]:
    """Where one header entry's data lies, checked against its dtype and shape."""
    shown = json.dumps(name[:80])
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise FormatError(f"safetensors: tensor {shown}: not a tensor entry")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPE_SIZES:
        raise FormatError(f"safetensors: tensor {shown}: unknown dtype")
    if not isinstance(shape, list) or not all(_count(n) for n in shape):
        raise FormatError(f"safetensors: tensor {shown}: bad shape")
    pair = isinstance(offsets, list) and len(offsets) == 2
    if not (pair and all(map(_count, offsets))):
        raise FormatError(f"safetensors: tensor {shown}: bad data_offsets")
    nbytes = DTYPE_SIZES[dtype]
    for n in shape:
        nbytes *= n
    begin, end = offsets
    if end - begin != nbytes:
        raise FormatError(
            f"safetensors: tensor {shown}: {end - begin} bytes for {nbytes} "
            "bytes of data"
        )
    return begin, end


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
