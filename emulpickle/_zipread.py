"""A small, lenient zip reader for the scanner.

It reads what loaders such as ``torch.load`` and ``numpy.load`` read: the
members listed in the central directory (found through the end-of-central-
directory record, ZIP64 aware). It tolerates what those loaders tolerate — a
local header whose name differs from the central one, unusual flag bits, a
wrong CRC, data prepended to the archive — and it never trusts a size or an
offset beyond the bytes actually present. Stored members are returned as
offsets into the archive (no copy); deflated ones are inflated up to a limit.
"""

from __future__ import annotations

import struct
import zlib
from typing import Protocol

import attrs

__all__ = [
    "ZipError",
    "ZipMember",
    "is_zip",
    "member_span",
    "read_member",
    "read_members",
]

_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_MAX_COMMENT = 0xFFFF
_MAX_MEMBERS = 1_000_000


class Buffer(Protocol):
    """What the reader needs of its input: bytes, or an mmap."""

    def __len__(self) -> int: ...
    def __getitem__(self, index: slice, /) -> bytes: ...
    def rfind(self, sub: bytes, start: int = ..., end: int = ..., /) -> int: ...


class ZipError(Exception):
    """The archive (or one member of it) cannot be read."""


@attrs.frozen
class ZipMember:
    """One member listed in the central directory.

    Attributes:
        name: the central directory's name for it.
        method: compression method (0 stored, 8 deflated).
        header_offset: where its local header starts, in the input.
        compressed_size: bytes of member data (clamped to the input).
        size: declared uncompressed size (informative only).
    """

    name: str
    method: int
    header_offset: int
    compressed_size: int
    size: int


def is_zip(data: Buffer) -> bool:
    """Whether ``data`` starts like a zip or has an end-of-central-directory."""
    if data[:4] in (_LOCAL, _EOCD):
        return True
    size = len(data)
    return data.rfind(_EOCD, max(0, size - 22 - _MAX_COMMENT), size) >= 0


def _u16(data: Buffer, pos: int) -> int:
    return int(struct.unpack("<H", data[pos : pos + 2])[0])


def _u32(data: Buffer, pos: int) -> int:
    return int(struct.unpack("<I", data[pos : pos + 4])[0])


def _u64(data: Buffer, pos: int) -> int:
    return int(struct.unpack("<Q", data[pos : pos + 8])[0])


def _find_eocd(data: Buffer) -> int:
    size = len(data)
    low = max(0, size - 22 - _MAX_COMMENT)
    end = size
    while True:
        pos = data.rfind(_EOCD, low, end)
        if pos < 0:
            raise ZipError("no end-of-central-directory record")
        if pos + 22 <= size:
            return pos
        end = pos + 3


def read_members(data: Buffer) -> list[ZipMember]:
    """The members of the archive in ``data``, from its central directory."""
    size = len(data)
    eocd = _find_eocd(data)
    count = _u16(data, eocd + 10)
    cd_size = _u32(data, eocd + 12)
    cd_offset = _u32(data, eocd + 16)
    zip64_at = eocd - 20
    if zip64_at >= 0 and data[zip64_at : zip64_at + 4] == _ZIP64_LOCATOR:
        rec = _u64(data, zip64_at + 8)
        if 0 <= rec <= size - 56 and data[rec : rec + 4] == _ZIP64_EOCD:
            count = _u64(data, rec + 32)
            cd_size = _u64(data, rec + 40)
            cd_offset = _u64(data, rec + 48)
            eocd = rec
    # Data prepended to the archive shifts every offset by the same amount.
    shift = max(0, eocd - cd_size - cd_offset)
    pos = cd_offset + shift
    if data[pos : pos + 4] != _CENTRAL and data[cd_offset : cd_offset + 4] == _CENTRAL:
        pos, shift = cd_offset, 0
    members: list[ZipMember] = []
    while data[pos : pos + 4] == _CENTRAL and len(members) < min(count, _MAX_MEMBERS):
        if pos + 46 > size:
            break
        flags = _u16(data, pos + 8)
        method = _u16(data, pos + 10)
        csize = _u32(data, pos + 20)
        usize = _u32(data, pos + 24)
        name_len = _u16(data, pos + 28)
        extra_len = _u16(data, pos + 30)
        comment_len = _u16(data, pos + 32)
        offset = _u32(data, pos + 42)
        raw_name = data[pos + 46 : pos + 46 + name_len]
        extra = data[pos + 46 + name_len : pos + 46 + name_len + extra_len]
        usize, csize, offset = _zip64_extra(extra, usize, csize, offset)
        encoding = "utf-8" if flags & 0x800 else "cp437"
        name = raw_name.decode(encoding, "replace")
        header = offset + shift
        members.append(
            ZipMember(name, method, header, min(csize, max(0, size - header)), usize)
        )
        pos += 46 + name_len + extra_len + comment_len
    return members


def _zip64_extra(
    extra: bytes, usize: int, csize: int, offset: int
) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack("<HH", extra[pos : pos + 4])
        body = extra[pos + 4 : pos + 4 + length]
        if tag == 1:
            fields: list[int] = [
                v[0] for v in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])
            ]
            if usize == 0xFFFFFFFF and fields:
                usize = fields.pop(0)
            if csize == 0xFFFFFFFF and fields:
                csize = fields.pop(0)
            if offset == 0xFFFFFFFF and fields:
                offset = fields.pop(0)
            break
        pos += 4 + length
    return usize, csize, offset


def member_span(data: Buffer, member: ZipMember) -> tuple[int, int]:
    """Start and end of the member's (possibly compressed) bytes in ``data``."""
    size = len(data)
    at = member.header_offset
    if at + 30 > size or data[at : at + 4] != _LOCAL:
        raise ZipError(f"{member.name}: bad local header at offset {at}")
    # The local name may differ from the central one: only its length matters.
    start = at + 30 + _u16(data, at + 26) + _u16(data, at + 28)
    end = min(size, start + member.compressed_size)
    return min(start, size), end


def read_member(
    data: Buffer, member: ZipMember, limit: int
) -> tuple[Buffer | bytearray, int, int]:
    """The member's bytes as ``(buffer, start, end)``.

    Stored members are returned in place (``buffer`` is ``data``); deflated
    ones are inflated into a new bytearray, refusing more than ``limit`` bytes.
    """
    start, end = member_span(data, member)
    if member.method == 0:
        return data, start, end
    if member.method != 8:
        raise ZipError(f"{member.name}: unsupported compression method {member.method}")
    inflater = zlib.decompressobj(-15)
    out = bytearray()
    total = 0
    chunk = 1 << 20
    pos = start
    try:
        while pos < end or inflater.unconsumed_tail:
            source = inflater.unconsumed_tail or data[pos : min(end, pos + chunk)]
            if not inflater.unconsumed_tail:
                pos += len(source)
            piece = inflater.decompress(source, limit - total + 1)
            total += len(piece)
            if total > limit:
                raise ZipError(
                    f"{member.name}: inflates to more than {limit} bytes (zip bomb?)"
                )
            out += piece
            del piece
            if inflater.eof:
                break
    except zlib.error as exc:
        raise ZipError(f"{member.name}: bad deflate data ({exc})") from None
    return out, 0, len(out)
