"""The one bounded zip reader: torch.save checkpoints, ``.npz`` files, any zip.

It reads what ``torch.load`` (miniz) and ``zipfile`` read: the members listed
in the central directory, found through the end-of-central-directory record
(ZIP64 aware, data prepended to the archive tolerated), each member's data
placed by its local header (whose name may differ from the central one, as
both loaders allow). Flag bits and CRCs are not checked.

What it refuses, because loaders or the memory of the process would be at the
mercy of the file:

* more members than ``max_members``;
* members whose data overlap another member's or the central directory (the
  "overlapping files" zip bomb, CVE-2024-0450: many central entries sharing
  one compressed payload);
* looking up a name listed more than once, ignoring ASCII case: ``torch.load``
  finds records case-insensitively and takes the first, ``zipfile`` takes the
  last, so duplicates would make two readers see different data;
* inflating a member beyond ``max(1 MiB, max_inflate_ratio x its compressed
  size)``, beyond its declared size, or beyond what is left of a running
  total (``max_inflated_bytes`` for one :class:`ZipArchive`, i.e. one load).

Stored members of a buffer or memory map are returned without a copy.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any

from ._source import ByteSource, FormatError, as_source, show_name

__all__ = [
    "DEFAULT_MAX_INFLATED_BYTES",
    "DEFAULT_MAX_INFLATE_RATIO",
    "DEFAULT_MAX_MEMBERS",
    "RATIO_FLOOR",
    "Inflated",
    "ZipArchive",
    "ZipMember",
    "inflate",
    "inflate_pieces",
    "is_zip",
    "member_span",
    "name_key",
]

#: Defaults of the bounds (the defaults of the matching ``Limits`` fields).
DEFAULT_MAX_MEMBERS = 100_000
DEFAULT_MAX_INFLATED_BYTES = 4 << 30
DEFAULT_MAX_INFLATE_RATIO = 1100
#: Any member may inflate to this many bytes whatever its ratio.
RATIO_FLOOR = 1 << 20

_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_LOCAL_SIZE = 30
_CENTRAL_SIZE = 46
_EOCD_SIZE = 22
_MAX_COMMENT = 0xFFFF
_U32 = 0xFFFFFFFF
_U16 = 0xFFFF
_STORED = 0
_DEFLATED = 8
#: Compressed bytes read, and inflated bytes produced, per step.
_IN_CHUNK = 1 << 20
_OUT_CHUNK = 16 << 20
_CENTRAL_ENTRY = struct.Struct("<4x2x2xHH4x4xIIHHH8xI")
_LOCAL_HEADER = struct.Struct("<4s22xHH")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def name_key(name: str) -> str:
    """The form in which member names are compared for duplicates.

    ASCII letters are lowercased (``torch.load`` finds records with miniz,
    which ignores ASCII case) and the name ends at a NUL (``zipfile``, so
    ``numpy.load``, cuts names there).
    """
    if "\0" in name:
        name = name.split("\0", 1)[0]
    # str.lower is faster, and the same for ASCII text.
    return name.lower() if name.isascii() else name.translate(_ASCII_LOWER)


class ZipMember:
    """One member listed in the central directory.

    Attributes:
        name: the central directory's name for it (UTF-8 when flag bit 11 is
            set, else code page 437, as ``zipfile`` decodes it).
        method: compression method (0 stored, 8 deflated; others refused
            when read).
        flags: the general-purpose flag bits.
        header_offset: where its local header starts in the source.
        compressed_size: bytes of member data in the source.
        size: declared uncompressed size.
        index: its position in the central directory.
        bound: where the next member (or the central directory) starts; its
            data must end there.
    """

    __slots__ = (
        "_span",
        "bound",
        "compressed_size",
        "flags",
        "header_offset",
        "index",
        "method",
        "name",
        "size",
    )

    def __init__(
        self,
        name: str,
        method: int,
        flags: int,
        header_offset: int,
        compressed_size: int,
        size: int,
        index: int,
    ) -> None:
        self.name = name
        self.method = method
        self.flags = flags
        self.header_offset = header_offset
        self.compressed_size = compressed_size
        self.size = size
        self.index = index
        self.bound = header_offset
        self._span: tuple[int, int] | None = None

    def __repr__(self) -> str:
        return (
            f"<ZipMember {show_name(self.name)} method {self.method}, "
            f"{self.compressed_size} -> {self.size} bytes at {self.header_offset}>"
        )


class Inflated(bytearray):
    """Bytes inflated from a member.

    A ``bytearray`` that weak references can follow, so that a caller may
    share it while it is in use (``memoryview(...).obj`` is this object for
    every slice and every array made from it) without keeping it alive.
    """

    __slots__ = ("__weakref__",)


def _u16(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 2], "little")


def _u32(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "little")


def _u64(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 8], "little")


def _tail(source: ByteSource) -> tuple[bytes, int]:
    """The last bytes that can hold the end-of-central-directory record."""
    size = source.size
    length = min(size, _EOCD_SIZE + _MAX_COMMENT)
    return bytes(source.read(size - length, length)), size - length


def is_zip(data: Any) -> bool:
    """Whether ``data`` (a :class:`ByteSource` or bytes-like object) starts
    like a zip or holds an end-of-central-directory record near its end."""
    source = as_source(data)
    if bytes(source.read(0, min(4, source.size))) in (_LOCAL, _EOCD):
        return True
    tail, _ = _tail(source)
    return tail.rfind(_EOCD) >= 0


def _find_eocd(source: ByteSource) -> int:
    # The last signature with room for a record after it, as miniz does.
    tail, base = _tail(source)
    end = len(tail)
    while True:
        pos = tail.rfind(_EOCD, 0, end)
        if pos < 0:
            raise FormatError("not a zip archive: no end-of-central-directory record")
        if pos + _EOCD_SIZE <= len(tail):
            return base + pos
        end = pos + 3


def _zip64_extra(
    extra: bytes, usize: int, csize: int, offset: int, name: str
) -> tuple[int, int, int]:
    """Sizes and offset from a ZIP64 extra field (only those set to 0xFFFFFFFF)."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = _u16(extra, pos), _u16(extra, pos + 2)
        body = extra[pos + 4 : pos + 4 + length]
        if tag == 1:
            fields = [_u64(body, i) for i in range(0, len(body) - 7, 8)]
            try:
                if usize == _U32:
                    usize = fields.pop(0)
                if csize == _U32:
                    csize = fields.pop(0)
                if offset == _U32:
                    offset = fields.pop(0)
            except IndexError:
                raise FormatError(
                    f"member {show_name(name)}: short ZIP64 extra field"
                ) from None
            return usize, csize, offset
        pos += 4 + length
    raise FormatError(f"member {show_name(name)}: ZIP64 sizes without a ZIP64 field")


def _directory(source: ByteSource, max_members: int) -> tuple[list[ZipMember], int]:
    """The central directory's members, and where the directory starts."""
    size = source.size
    eocd = _find_eocd(source)
    record = bytes(source.read(eocd, _EOCD_SIZE))
    count, cd_size, cd_offset = struct.unpack_from("<10xHII", record)
    if eocd >= 20:
        locator = bytes(source.read(eocd - 20, 20))
        at = _u64(locator, 8)
        if locator[:4] == _ZIP64_LOCATOR and at + 56 <= eocd:
            record64 = bytes(source.read(at, 56))
            if record64[:4] == _ZIP64_EOCD:
                count, cd_size, cd_offset = struct.unpack_from("<32xQQQ", record64)
                eocd = at
    if count > max_members:
        raise FormatError(
            f"zip archive of {count} members; the limit is {max_members} "
            "(Limits.max_archive_members)",
            limit="max_archive_members",
        )
    # Data prepended to the archive (a self-extractor's stub) shifts every
    # offset by the same amount, as zipfile and miniz allow.
    shift = max(0, eocd - cd_size - cd_offset)
    start = cd_offset + shift
    if (
        shift
        and count
        and bytes(source.read(start, 4)) != _CENTRAL
        and cd_offset + 4 <= size
        and bytes(source.read(cd_offset, 4)) == _CENTRAL
    ):
        start, shift = cd_offset, 0  # bytes between directory and end record
    if start + cd_size > eocd:
        raise FormatError("the central directory lies beyond its end record")
    directory = bytes(source.read(start, cd_size))
    members: list[ZipMember] = []
    pos = 0
    for index in range(count):
        if pos + _CENTRAL_SIZE > len(directory) or directory[pos : pos + 4] != _CENTRAL:
            raise FormatError("truncated or corrupt central directory")
        flags, method, csize, usize, nlen, elen, clen, offset = (
            _CENTRAL_ENTRY.unpack_from(directory, pos)
        )
        name_end = pos + _CENTRAL_SIZE + nlen
        extra_end = name_end + elen
        if extra_end + clen > len(directory):
            raise FormatError("truncated central directory entry")
        raw = directory[pos + _CENTRAL_SIZE : name_end]
        if flags & 0x800:
            name = raw.decode("utf-8", "surrogateescape")
        else:
            name = raw.decode("cp437")
        if _U32 in (csize, usize, offset):
            usize, csize, offset = _zip64_extra(
                directory[name_end:extra_end], usize, csize, offset, name
            )
        members.append(
            ZipMember(name, method, flags, offset + shift, csize, usize, index)
        )
        pos = extra_end + clen
    _check_overlaps(members, start)
    return members, start


def _check_overlaps(members: list[ZipMember], directory: int) -> None:
    """Refuse members whose extents overlap; give each its ``bound``.

    A member spans at least its 30-byte local header and its compressed
    data; sorted by offset, each must end before the next begins and the
    last before the central directory. :func:`member_span` checks the exact
    end (after the local header's variable fields) against ``bound``.
    """
    ordered = sorted(members, key=lambda m: m.header_offset)
    for i, member in enumerate(ordered):
        following = ordered[i + 1] if i + 1 < len(ordered) else None
        bound = directory if following is None else following.header_offset
        if member.header_offset + _LOCAL_SIZE + member.compressed_size > bound:
            other = (
                "the central directory"
                if following is None
                else f"member {show_name(following.name)}"
            )
            raise FormatError(
                f"zip member {show_name(member.name)} overlaps {other} "
                "(overlapping members: a zip bomb)"
            )
        member.bound = bound


def member_span(source: ByteSource, member: ZipMember) -> tuple[int, int]:
    """Start and end of the member's (possibly compressed) bytes in ``source``.

    Raises:
        FormatError: the local header is missing, or the data runs into the
            next member or the central directory.
    """
    if member._span is not None:
        return member._span
    at = member.header_offset
    if at + _LOCAL_SIZE > source.size:
        raise FormatError(f"member {show_name(member.name)}: no local header")
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(
        source.read(at, _LOCAL_SIZE)
    )
    if signature != _LOCAL:
        raise FormatError(f"member {show_name(member.name)}: bad local header")
    # The local name may differ from the central one: only its length matters.
    start = at + _LOCAL_SIZE + name_length + extra_length
    end = start + member.compressed_size
    if end > member.bound:
        raise FormatError(
            f"zip member {show_name(member.name)} overlaps the next member "
            "(overlapping members: a zip bomb)"
        )
    member._span = (start, end)
    return start, end


def inflate_pieces(
    source: ByteSource,
    start: int,
    end: int,
    limit: int,
    *,
    expected: int | None = None,
    name: str = "",
    limit_name: str | None = None,
    piece_size: int = _OUT_CHUNK,
) -> Iterator[bytes]:
    """Inflate the raw deflate stream in ``source[start:end]``, a piece at a time.

    Yields the inflated bytes in pieces of at most ``piece_size`` bytes, so
    that a caller that needs only some of them holds no more; checks them
    as :func:`inflate` does (raising after the pieces before the fault).
    """
    what = f"member {show_name(name)}" if name else "deflated data"
    inflater = zlib.decompressobj(-15)
    filled = 0
    pos = start
    cap = limit if expected is None else min(limit, expected)
    try:
        while not inflater.eof:
            chunk: Any = inflater.unconsumed_tail
            if not chunk:
                if pos >= end:
                    if expected is None:
                        break  # lenient: what a truncated stream holds
                    raise FormatError(f"{what}: the deflate stream is truncated")
                chunk = source.read(pos, min(_IN_CHUNK, end - pos))
                pos += len(chunk)
            piece = inflater.decompress(chunk, min(piece_size, cap - filled + 1))
            if filled + len(piece) > cap:
                if expected is not None and expected <= limit:
                    raise FormatError(
                        f"{what} inflates to more than its declared {expected} bytes"
                    )
                raise FormatError(
                    f"{what} inflates to more than {limit} bytes (zip bomb?)",
                    limit=limit_name,
                )
            filled += len(piece)
            yield piece
            del piece
    except zlib.error as exc:
        raise FormatError(f"{what}: bad deflate data ({exc})") from None
    if expected is not None and filled != expected:
        raise FormatError(
            f"{what} inflates to {filled} bytes, not the declared {expected}"
        )


def inflate(
    source: ByteSource,
    start: int,
    end: int,
    limit: int,
    *,
    expected: int | None = None,
    name: str = "",
    limit_name: str | None = None,
) -> Inflated:
    """Inflate the raw deflate stream in ``source[start:end]``.

    Args:
        limit: the most bytes it may inflate to.
        expected: the exact size it must inflate to (``None``: whatever it
            gives up to ``limit``; a truncated stream gives what it has).
        name: the member's name, for messages.
        limit_name: the ``Limits`` field that ``limit`` stands for, if any
            (set as :attr:`FormatError.limit` when it is exceeded).

    Raises:
        FormatError: bad deflate data, more than ``limit`` bytes, or (with
            ``expected``) another size than expected.
    """
    pieces = inflate_pieces(
        source,
        start,
        end,
        limit,
        expected=expected,
        name=name,
        limit_name=limit_name,
    )
    if expected is None or expected > limit:
        grown = Inflated()
        for piece in pieces:
            grown += piece
        return grown
    # A known size is allocated once (it was checked against the bounds), so
    # that growing the output never holds two copies.
    out = Inflated(expected)
    filled = 0
    with memoryview(out) as view:
        for piece in pieces:
            view[filled : filled + len(piece)] = piece
            filled += len(piece)
    return out


class ZipArchive:
    """The members of a zip archive, and their bytes within bounds.

    One instance is meant for one load: :attr:`inflated` counts every byte
    it inflates, and reads that would take the count past
    ``max_inflated_bytes`` are refused.

    Args:
        data: a :class:`ByteSource`, or a bytes-like object / memory map
            (read without copying).
        max_members: the most members the central directory may list.
        max_inflated_bytes: the most bytes all reads may inflate in total.
        max_inflate_ratio: a member may inflate to at most
            ``max(RATIO_FLOOR, max_inflate_ratio * compressed size)`` bytes.

    Raises:
        FormatError: no readable central directory, too many members, or
            overlapping members.

    Attributes:
        members: every member, in central directory order.
        inflated: bytes inflated so far.
    """

    def __init__(
        self,
        data: Any,
        *,
        max_members: int = DEFAULT_MAX_MEMBERS,
        max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES,
        max_inflate_ratio: int = DEFAULT_MAX_INFLATE_RATIO,
    ) -> None:
        self.source = as_source(data)
        self.max_inflated_bytes = max_inflated_bytes
        self.max_inflate_ratio = max_inflate_ratio
        self.members, self.directory_offset = _directory(self.source, max_members)
        self.inflated = 0
        self._by_name: dict[str, list[ZipMember]] = {}
        for member in self.members:
            self._by_name.setdefault(name_key(member.name), []).append(member)

    def names(self) -> list[str]:
        """Every member's name, in central directory order (repeats included)."""
        return [member.name for member in self.members]

    def get(self, name: str) -> ZipMember | None:
        """The member called ``name``, or ``None``.

        Raises:
            FormatError: several members have this name as :func:`name_key`
                compares names (``torch.load`` would read one of them,
                another loader another).
        """
        found = self._by_name.get(name_key(name))
        if not found:
            return None
        if len(found) > 1:
            raise FormatError(
                f"zip member {show_name(name)} is listed {len(found)} times "
                "(ignoring case); loaders disagree on which one to read"
            )
        member = found[0]
        return member if member.name == name else None

    def span(self, member: ZipMember) -> tuple[int, int]:
        """Where the member's (possibly compressed) bytes lie (:func:`member_span`)."""
        return member_span(self.source, member)

    def check(
        self, member: ZipMember, *, max_size: int | None = None
    ) -> tuple[int, int]:
        """Validate a member as :meth:`read` would, without inflating it.

        Returns:
            where its (possibly compressed) bytes lie, as :meth:`span`.
        """
        span = self.span(member)
        if member.method == _STORED:
            if member.compressed_size != member.size:
                raise FormatError(
                    f"stored member {show_name(member.name)} has differing sizes"
                )
            return span
        if member.method != _DEFLATED:
            raise FormatError(
                f"member {show_name(member.name)} uses unsupported compression "
                f"method {member.method}"
            )
        limit, limit_name = self._inflate_limit(member, max_size)
        if member.size > limit:
            raise FormatError(
                self._too_big(member, limit, limit_name), limit=limit_name
            )
        return span

    def read(self, member: ZipMember, *, max_size: int | None = None) -> memoryview:
        """The member's bytes.

        Stored members come as a view of the source (no copy for a buffer or
        memory map); deflated ones are inflated into an :class:`Inflated`
        (``.obj`` of the view) that nothing here keeps.

        Args:
            max_size: a further bound on the inflated size (not a ``Limits``
                field: a refusal names no ``limit``).

        Raises:
            FormatError: see :meth:`check`; also a deflate stream that is
                corrupt or gives another size than declared.
        """
        start, end = self.check(member, max_size=max_size)
        if member.method == _STORED:
            return memoryview(self.source.read(start, end - start))
        limit, limit_name = self._inflate_limit(member, max_size)
        data = inflate(
            self.source,
            start,
            end,
            limit,
            expected=member.size,
            name=member.name,
            limit_name=limit_name,
        )
        self.inflated += len(data)
        return memoryview(data)

    def _inflate_limit(
        self, member: ZipMember, max_size: int | None
    ) -> tuple[int, str | None]:
        """The most the member may inflate to, and the limit that says so."""
        bounds: list[tuple[int, str | None]] = [
            (self.max_inflated_bytes - self.inflated, "max_inflated_bytes"),
            (
                max(RATIO_FLOOR, self.max_inflate_ratio * member.compressed_size),
                "max_inflate_ratio",
            ),
        ]
        if max_size is not None:
            bounds.append((max_size, None))
        return min(bounds, key=lambda bound: bound[0])

    def _too_big(self, member: ZipMember, limit: int, limit_name: str | None) -> str:
        what = (
            f"zip member {show_name(member.name)} would inflate to {member.size} bytes"
        )
        if limit_name == "max_inflated_bytes":
            return (
                f"{what}; this load may inflate {self.max_inflated_bytes} bytes in "
                f"all and {self.inflated} are used (Limits.max_inflated_bytes)"
            )
        if limit_name == "max_inflate_ratio":
            return (
                f"{what} from {member.compressed_size}: more than "
                f"{self.max_inflate_ratio} times its compressed size "
                "(Limits.max_inflate_ratio; a zip bomb?)"
            )
        return f"{what}, more than the limit of {limit}"
