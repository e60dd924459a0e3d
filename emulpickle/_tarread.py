"""The scanner's tar functions, now thin wrappers of :mod:`emulpickle.formats.tar`.

Kept for ``scan.py``; new code uses :mod:`emulpickle.formats.tar`. Inputs
are read by slicing (:class:`~emulpickle.formats.SliceSource`), so the
scanner may close its memory maps.
"""

from __future__ import annotations

from typing import Any

from .formats import FormatError, SliceSource
from .formats import tar as _tar
from .formats.tar import BLOCK, MAX_EXTENDED, TarMember
from .limits import DEFAULT_LIMITS

__all__ = [
    "BLOCK",
    "MAX_EXTENDED",
    "MAX_MEMBERS",
    "TarError",
    "TarMember",
    "is_tar",
    "read_members",
]

#: The error :func:`read_members` raises (once this module's own class).
TarError = FormatError
#: The most members an archive may hold (``Limits.max_archive_members``).
MAX_MEMBERS = DEFAULT_LIMITS.max_archive_members


def is_tar(data: Any) -> bool:
    """Whether ``data`` starts with a ustar (POSIX, PAX or GNU) header."""
    return _tar.is_tar(SliceSource(data))


def read_members(data: Any) -> dict[str, TarMember]:
    """Every member of the archive by name.

    Raises:
        TarError: a header is corrupt, a member's data lies outside the file,
            a name is unsafe or repeated, or there are too many members.
    """
    return _tar.read_members(SliceSource(data), max_members=MAX_MEMBERS)
