"""The scanner's zip functions, now thin wrappers of :mod:`emulpickle.formats.zip`.

Kept for ``scan.py`` and ``_scan_joblib.py``; new code uses
:class:`emulpickle.formats.zip.ZipArchive`. Inputs are read by slicing
(:class:`~emulpickle.formats.SliceSource`), so no buffer export outlives a
call and the scanner may close its memory maps.
"""

from __future__ import annotations

from typing import Any

from .formats import FormatError, SliceSource
from .formats import zip as _zip
from .formats.zip import ZipMember
from .limits import DEFAULT_LIMITS

__all__ = [
    "ZipError",
    "ZipMember",
    "is_zip",
    "member_span",
    "read_member",
    "read_members",
]

#: The error every function here raises (once this module's own class).
ZipError = FormatError


def is_zip(data: Any) -> bool:
    """Whether ``data`` starts like a zip or has an end-of-central-directory."""
    return _zip.is_zip(SliceSource(data))


def read_members(data: Any) -> list[ZipMember]:
    """The members of the archive in ``data``, from its central directory.

    Raises:
        ZipError: no central directory, too many members, or members that
            overlap.
    """
    archive = _zip.ZipArchive(
        SliceSource(data), max_members=DEFAULT_LIMITS.max_archive_members
    )
    return archive.members


def member_span(data: Any, member: ZipMember) -> tuple[int, int]:
    """Start and end of the member's (possibly compressed) bytes in ``data``."""
    return _zip.member_span(SliceSource(data), member)


def read_member(data: Any, member: ZipMember, limit: int) -> tuple[Any, int, int]:
    """The member's bytes as ``(buffer, start, end)``.

    Stored members are returned in place (``buffer`` is ``data``); deflated
    ones are inflated into a new bytearray, refusing more than ``limit``
    bytes (a truncated stream gives what it holds).
    """
    source = SliceSource(data)
    start, end = _zip.member_span(source, member)
    if member.method == 0:
        return data, start, end
    if member.method != 8:
        raise ZipError(f"{member.name}: unsupported compression method {member.method}")
    out = _zip.inflate(source, start, end, limit, name=member.name)
    return out, 0, len(out)
