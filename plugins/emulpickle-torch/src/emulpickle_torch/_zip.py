"""A small, lenient zip reader for torch.save archives.

Like torch's own reader it trusts the central directory, takes each record's
data offset from its local header (tolerating a local name that differs from
the central one), ignores flag bits and CRCs, and understands ZIP64. Records
are normally stored; deflated records are inflated with a size limit.
"""

from __future__ import annotations

import struct
import zlib

from ._source import Source
from .errors import TorchFormatError

__all__ = ["ZipEntry", "ZipReader"]

_EOCD = b"PK\x05\x06"
_EOCD64 = b"PK\x06\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_U32 = 0xFFFFFFFF
_U16 = 0xFFFF


class ZipEntry:
    """One record: its name, compression, sizes and local header offset."""

    __slots__ = (
        "_data_offset",
        "compressed_size",
        "header_offset",
        "method",
        "name",
        "size",
    )

    def __init__(
        self,
        name: str,
        method: int,
        compressed_size: int,
        size: int,
        header_offset: int,
    ) -> None:
        self.name = name
        self.method = method
        self.compressed_size = compressed_size
        self.size = size
        self.header_offset = header_offset
        self._data_offset: int | None = None


class ZipReader:
    """Reads the directory of a zip archive held by a :class:`Source`.

    Args:
        source: the bytes.
        max_inflate: the most bytes one deflated record may inflate to.
    """

    def __init__(self, source: Source, *, max_inflate: int = 1 << 32) -> None:
        self.source = source
        self.max_inflate = max_inflate
        self.entries: dict[str, ZipEntry] = {}
        self._read_directory()

    # ------------------------------------------------------------ directory

    def _find_eocd(self) -> int:
        size = self.source.size
        tail_len = min(size, 22 + _U16)
        tail = bytes(self.source.read(size - tail_len, tail_len))
        pos = tail.rfind(_EOCD)
        while pos >= 0:
            if pos + 22 <= len(tail):
                comment_len = struct.unpack_from("<H", tail, pos + 20)[0]
                if pos + 22 + comment_len <= len(tail):
                    return size - tail_len + pos
            pos = tail.rfind(_EOCD, 0, pos)
        raise TorchFormatError("not a zip archive: no end-of-central-directory record")

    def _read_directory(self) -> None:
        source = self.source
        eocd = self._find_eocd()
        (_, _, _, count, cd_size, cd_offset, _) = struct.unpack(
            "<HHHHIIH", source.read(eocd + 4, 18)
        )
        if count == _U16 or cd_size == _U32 or cd_offset == _U32:
            if eocd < 20:
                raise TorchFormatError("ZIP64 locator missing")
            locator = bytes(source.read(eocd - 20, 20))
            if locator[:4] != _EOCD64_LOCATOR:
                raise TorchFormatError("ZIP64 locator missing")
            eocd64 = struct.unpack_from("<Q", locator, 8)[0]
            source.check(eocd64, 56, "ZIP64 end of central directory")
            record = bytes(source.read(eocd64, 56))
            if record[:4] != _EOCD64:
                raise TorchFormatError("bad ZIP64 end-of-central-directory record")
            count, cd_size, cd_offset = struct.unpack_from("<QQQ", record, 32)
        source.check(cd_offset, cd_size, "central directory")
        directory = bytes(source.read(cd_offset, cd_size))
        pos = 0
        for _ in range(count):
            if pos + 46 > len(directory) or directory[pos : pos + 4] != _CENTRAL:
                raise TorchFormatError("truncated or corrupt central directory")
            (method, csize, usize, nlen, elen, clen, lho) = struct.unpack_from(
                "<6xH8xIIHHH8xI", directory, pos + 4
            )
            name_end = pos + 46 + nlen
            extra_end = name_end + elen
            if extra_end + clen > len(directory):
                raise TorchFormatError("truncated central directory entry")
            raw_name = directory[pos + 46 : name_end]
            if csize == _U32 or usize == _U32 or lho == _U32:
                usize, csize, lho = _zip64_extra(
                    directory[name_end:extra_end], usize, csize, lho
                )
            name = raw_name.decode("utf-8", "surrogateescape")
            self.entries[name] = ZipEntry(name, method, csize, usize, lho)
            pos = extra_end + clen

    # -------------------------------------------------------------- records

    def names(self) -> list[str]:
        """Every record name, in directory order."""
        return list(self.entries)

    def data_offset(self, entry: ZipEntry) -> int:
        """Where the record's (possibly compressed) bytes start in the file."""
        if entry._data_offset is None:
            source = self.source
            source.check(entry.header_offset, 30, f"local header of {entry.name!r}")
            header = bytes(source.read(entry.header_offset, 30))
            if header[:4] != _LOCAL:
                raise TorchFormatError(f"bad local header for record {entry.name!r}")
            nlen, elen = struct.unpack_from("<HH", header, 26)
            start = entry.header_offset + 30 + nlen + elen
            source.check(start, entry.compressed_size, f"record {entry.name!r}")
            entry._data_offset = start
        return entry._data_offset

    def is_stored(self, entry: ZipEntry) -> bool:
        """Whether the record is stored uncompressed (so it can be mapped)."""
        return entry.method == 0

    def check(self, entry: ZipEntry) -> int:
        """Validate a record's header, range, method and size without reading it."""
        start = self.data_offset(entry)
        if entry.method == 0:
            if entry.compressed_size != entry.size:
                raise TorchFormatError(
                    f"stored record {entry.name!r} has differing sizes"
                )
            return start
        if entry.method != 8:
            raise TorchFormatError(
                f"record {entry.name!r} uses unsupported compression {entry.method}"
            )
        if entry.size > self.max_inflate:
            raise TorchFormatError(
                f"record {entry.name!r} would inflate to {entry.size} bytes, "
                f"more than the limit of {self.max_inflate}"
            )
        return start

    def read(self, entry: ZipEntry) -> memoryview:
        """The record's bytes (zero-copy for stored records of a mapped file)."""
        start = self.check(entry)
        if entry.method == 0:
            return self.source.read(start, entry.size)
        raw = self.source.read(start, entry.compressed_size)
        inflater = zlib.decompressobj(-15)
        try:
            data = inflater.decompress(raw, entry.size + 1)
        except zlib.error as exc:
            raise TorchFormatError(f"record {entry.name!r}: {exc}") from None
        if len(data) != entry.size:
            raise TorchFormatError(
                f"record {entry.name!r} inflates to a size other than declared"
            )
        return memoryview(data)


def _zip64_extra(extra: bytes, usize: int, csize: int, lho: int) -> tuple[int, ...]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        if tag == 1:
            values = [
                v[0] for v in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])
            ]
            it = iter(values)
            try:
                if usize == _U32:
                    usize = next(it)
                if csize == _U32:
                    csize = next(it)
                if lho == _U32:
                    lho = next(it)
            except StopIteration:
                raise TorchFormatError("short ZIP64 extra field") from None
            return usize, csize, lho
        pos += 4 + size
    raise TorchFormatError("ZIP64 sizes without a ZIP64 extra field")
