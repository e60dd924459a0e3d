"""The one bounded tar reader (the oldest ``torch.save`` format, any tar).

It only lists members and where their bytes lie in the source: nothing is
extracted or written to disk. It reads headers the way Python's ``tarfile``
(which torch used) does — ustar, GNU long names, PAX ``path`` and ``size``
records — but with fixed bounds and without regular expressions (older
``tarfile`` versions parse PAX headers in quadratic time). Sparse members,
unsafe or duplicate names, ambiguous extended headers and more than
``max_members`` members are refused.
"""

from __future__ import annotations

from typing import Any

from ._source import ByteSource, FormatError, as_source, show_name

__all__ = [
    "BLOCK",
    "DEFAULT_MAX_MEMBERS",
    "MAX_EXTENDED",
    "TarMember",
    "is_tar",
    "read_members",
]

BLOCK = 512
#: The default bound on members (the default of ``Limits.max_archive_members``).
DEFAULT_MAX_MEMBERS = 100_000
#: The most bytes a PAX or GNU long-name header may carry.
MAX_EXTENDED = 1 << 16

_REGULAR = (b"0", b"\0", b"7")
# Links, devices, directories and fifos: tarfile skips no data after them.
_NO_DATA = (b"1", b"2", b"3", b"4", b"5", b"6")
_PAX = (b"x", b"X")
_PAX_GLOBAL = b"g"
_LONG_NAME = b"L"
_LONG_LINK = b"K"
_SPARSE = b"S"


class TarMember:
    """One member: its name, kind and the extent of its data in the source."""

    __slots__ = ("name", "offset", "regular", "size")

    def __init__(self, name: str, offset: int, size: int, regular: bool) -> None:
        self.name = name
        self.offset = offset
        self.size = size
        self.regular = regular

    def __repr__(self) -> str:
        return f"<TarMember {show_name(self.name)} {self.size} bytes at {self.offset}>"


def is_tar(data: Any) -> bool:
    """Whether ``data`` (a :class:`ByteSource` or bytes-like object) starts
    with a ustar (POSIX, PAX or GNU) header."""
    source = as_source(data)
    return source.size >= BLOCK and bytes(source.read(257, 5)) == b"ustar"


def _check(source: ByteSource, start: int, size: int, what: str) -> None:
    if start + size > source.size:
        raise FormatError(
            f"{what} ends beyond the end of the file "
            f"(bytes {start}..{start + size} lie outside the file)"
        )


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _number(field: bytes, what: str) -> int:
    """A numeric header field: octal text, or GNU base-256."""
    if field[:1] in (b"\x80", b"\xff"):
        value = int.from_bytes(field[1:], "big")
        return value - 256 ** (len(field) - 1) if field[0] == 0xFF else value
    text = field.split(b"\0", 1)[0].strip()
    if text.strip(b"01234567"):
        raise FormatError(f"tar header: bad {what} field {field!r}")
    return int(text, 8) if text else 0


def _checksum_ok(block: bytes) -> bool:
    stored = _number(block[148:156], "checksum")
    rest = block[:148] + block[156:]
    unsigned = 256 + sum(rest)
    signed = unsigned - 256 * sum(1 for byte in rest if byte > 127)
    return stored in (unsigned, signed)


def _pax_records(data: bytes) -> dict[str, str]:
    """``"<length> <key>=<value>\\n"`` records, as tarfile reads them."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos, pos + 21)
        digits = data[pos:space] if space > pos else b""
        if not digits.isdigit():
            break  # padding: tarfile stops at the first non-record too
        length = int(digits)
        record = data[space + 1 : pos + length]
        key, equals, value = record.partition(b"=")
        if pos + length > len(data) or not equals or not record.endswith(b"\n"):
            raise FormatError("tar: malformed PAX record")
        name = key.decode("utf-8", "surrogateescape")
        if name.startswith("GNU.sparse."):
            raise FormatError("tar: sparse members are not supported")
        records[name] = value[:-1].decode("utf-8", "surrogateescape")
        pos += length
    return records


def _check_name(name: str) -> None:
    parts = name.split("/")
    if not name or name.startswith("/") or "\\" in name or ".." in parts:
        raise FormatError(f"unsafe tar member name {show_name(name)}")


class _Pending:
    """Extended headers that describe the next member."""

    def __init__(self) -> None:
        self.long_name: str | None = None
        self.pax: dict[str, str] | None = None

    def add(self, kind: bytes, data: bytes) -> None:
        # tarfile lets the first of several extended headers win; refusing
        # the stack keeps every reader agreeing on the member's name.
        if kind == _LONG_NAME:
            if self.long_name is not None:
                raise FormatError("tar: two GNU long names for one member")
            self.long_name = _text(data)
        elif kind in _PAX:
            if self.pax is not None:
                raise FormatError("tar: two PAX headers for one member")
            self.pax = _pax_records(data)
        if self.long_name is not None and self.pax and "path" in self.pax:
            raise FormatError("tar: both a GNU long name and a PAX path")


def read_members(
    data: Any, *, max_members: int = DEFAULT_MAX_MEMBERS
) -> dict[str, TarMember]:
    """Every member of the archive by name.

    Args:
        data: a :class:`ByteSource`, or a bytes-like object / memory map.
        max_members: the most members (and three times as many headers,
            extended ones included) the archive may hold.

    Raises:
        FormatError: a header is corrupt, a member's data lies outside
            the file, a name is unsafe or repeated, or there are too many
            members (``limit="max_archive_members"``).
    """
    source = as_source(data)
    members: dict[str, TarMember] = {}
    global_pax: dict[str, str] = {}
    pending = _Pending()
    pos = 0
    headers = 0
    # Like tarfile, a file ending on a block boundary ends the archive.
    while pos + BLOCK <= source.size:
        block = bytes(source.read(pos, BLOCK))
        if block.count(0) == BLOCK:
            break  # the end-of-archive marker
        headers += 1
        if headers > max_members * 3:
            raise _too_many(max_members)
        if not _checksum_ok(block):
            raise FormatError(f"tar: bad header checksum at offset {pos}")
        kind = block[156:157]
        size = _number(block[124:136], "size")
        start = pos + BLOCK
        if kind in (*_PAX, _PAX_GLOBAL, _LONG_NAME, _LONG_LINK):
            if not 0 <= size <= MAX_EXTENDED:
                raise FormatError(f"tar: extended header of {size} bytes")
            _check(source, start, size, "tar extended header")
            extended = bytes(source.read(start, size))
            if kind == _PAX_GLOBAL:
                global_pax.update(_pax_records(extended))
            else:
                pending.add(kind, extended)
            pos = start + _padded(size)
            continue
        if kind == _SPARSE:
            raise FormatError("tar: sparse members are not supported")
        # Only two records matter; merging the dicts per member would cost
        # the size of every global header again for each member.
        fields = {
            key: value
            for key in ("path", "size")
            if (value := (pending.pax or {}).get(key, global_pax.get(key))) is not None
        }
        name = _text(block[:100])
        prefix = _text(block[345:500])
        if prefix:
            name = f"{prefix}/{name}"
        if kind == b"\0" and name.endswith("/"):
            kind = b"5"  # a V7 directory
        if pending.long_name is not None:
            name = pending.long_name
        name = fields.get("path", name)
        if kind == b"5":
            name = name.rstrip("/")
        if "size" in fields:
            text = fields["size"]
            if not (text.isdigit() and len(text) <= 20):
                raise FormatError(f"tar: bad PAX size {show_name(text)}")
            size = int(text)
        if size < 0:
            raise FormatError(f"tar: negative size for {show_name(name)}")
        _check_name(name)
        if name in members:
            raise FormatError(f"tar: member {show_name(name)} appears twice")
        if len(members) >= max_members:
            raise _too_many(max_members)
        regular = kind in _REGULAR
        if kind in _NO_DATA:
            size = 0
        _check(source, start, size, f"tar member {show_name(name)}")
        members[name] = TarMember(name, start, size, regular)
        pending = _Pending()
        pos = start + _padded(size)
    return members


def _too_many(max_members: int) -> FormatError:
    return FormatError(
        f"tar: more than {max_members} members (Limits.max_archive_members)",
        limit="max_archive_members",
    )
