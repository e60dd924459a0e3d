"""A small zip writer for tests: any central directory over any local records.

``zipfile`` cannot write the shapes hostile archives have (several central
entries for one local record, sizes that reach into the next record, names
listed twice with different data), so tests build them here. Records are
written in order; the central directory lists ``centrals`` (by default one
entry per record, named as the record), then ZIP64 end records when there are
more than 65535 entries, then the end-of-central-directory record.
"""

from __future__ import annotations

import struct
import zlib
from typing import NamedTuple

__all__ = ["Central", "Record", "deflate", "deflated_zeros", "zip_bytes"]


class Record(NamedTuple):
    """A local header and its data.

    ``payload`` is written as is (already deflated for ``method`` 8);
    ``size`` is the declared uncompressed size (default: ``len(payload)``).
    The CRC is computed when the data is small, else left 0.
    """

    name: str
    payload: bytes
    method: int = 0
    size: int | None = None

    @property
    def declared_size(self) -> int:
        return len(self.payload) if self.size is None else self.size

    @property
    def crc(self) -> int:
        if self.method == 0:
            return zlib.crc32(self.payload)
        if self.declared_size > 1 << 20:
            return 0
        try:
            return zlib.crc32(zlib.decompressobj(-15).decompress(self.payload))
        except zlib.error:
            return 0  # deliberately corrupt


class Central(NamedTuple):
    """A central directory entry for record number ``record``.

    ``compressed_size`` overrides the record's (to make ranges overlap).
    """

    name: str
    record: int
    compressed_size: int | None = None


def deflate(data: bytes, level: int = 9) -> bytes:
    """``data`` as a raw deflate stream (what zip's method 8 holds)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def deflated_zeros(size: int, chunk: int = 1 << 20) -> bytes:
    """A raw deflate stream of ``size`` zero bytes, built without compressing
    them all: a fully flushed block is self-contained, so one block of
    ``chunk`` zeros may be repeated (about 1000:1, deflate's best)."""
    count, rest = divmod(size, chunk)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    end = tail.compress(bytes(rest)) + tail.flush()
    return block * count + end


def _local(record: Record) -> bytes:
    name = record.name.encode()
    return (
        struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            20,
            0x800,
            record.method,
            0,
            0x21,
            record.crc,
            min(len(record.payload), 0xFFFFFFFF),
            min(record.declared_size, 0xFFFFFFFF),
            len(name),
            0,
        )
        + name
        + record.payload
    )


def _central(entry: Central, record: Record, offset: int) -> bytes:
    name = entry.name.encode()
    csize = (
        len(record.payload) if entry.compressed_size is None else entry.compressed_size
    )
    usize = record.declared_size
    extra = b""
    fields = [v for v in (usize, csize, offset) if v >= 0xFFFFFFFF]
    if fields:
        extra = struct.pack("<HH", 1, 8 * len(fields)) + b"".join(
            struct.pack("<Q", v) for v in fields
        )
    return (
        struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            20,
            45 if fields else 20,
            0x800,
            record.method,
            0,
            0x21,
            record.crc,
            min(csize, 0xFFFFFFFF),
            min(usize, 0xFFFFFFFF),
            len(name),
            len(extra),
            0,
            0,
            0,
            0,
            min(offset, 0xFFFFFFFF),
        )
        + name
        + extra
    )


def zip_bytes(records: list[Record], centrals: list[Central] | None = None) -> bytes:
    """The archive: ``records``, then a central directory of ``centrals``."""
    out = bytearray()
    offsets = []
    for record in records:
        offsets.append(len(out))
        out += _local(record)
    if centrals is None:
        centrals = [Central(r.name, i) for i, r in enumerate(records)]
    start = len(out)
    for entry in centrals:
        out += _central(entry, records[entry.record], offsets[entry.record])
    size = len(out) - start
    count = len(centrals)
    if count > 0xFFFF:
        end64 = len(out)
        out += struct.pack(
            "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start
        )
        out += struct.pack("<4sIQI", b"PK\x06\x07", 0, end64, 1)
    out += struct.pack(
        "<4sHHHHIIH",
        b"PK\x05\x06",
        0,
        0,
        min(count, 0xFFFF),
        min(count, 0xFFFF),
        min(size, 0xFFFFFFFF),
        min(start, 0xFFFFFFFF),
        0,
    )
    return bytes(out)
