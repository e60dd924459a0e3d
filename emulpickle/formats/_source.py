"""What the format readers read from, and the one error they raise."""

from __future__ import annotations

import mmap
from typing import Any, Protocol

__all__ = ["BufferSource", "ByteSource", "FormatError", "SliceSource", "as_source"]

#: How many characters of an archive-chosen name an error message shows.
_NAME_CHARS = 120


class FormatError(ValueError):
    """A container is malformed, hostile, or beyond a bound it was given.

    Attributes:
        limit: for a bound that was exceeded, the name of the
            :class:`emulpickle.Limits` field it stands for
            (``"max_inflated_bytes"``, ``"max_inflate_ratio"``,
            ``"max_archive_members"``); ``None`` for malformed input.
    """

    def __init__(self, message: str, *, limit: str | None = None) -> None:
        super().__init__(message)
        self.limit = limit


class ByteSource(Protocol):
    """Random access to the bytes of a file: what the readers need.

    ``read`` is only ever asked for ranges inside ``0..size``.
    """

    @property
    def size(self) -> int:
        """The number of bytes."""
        ...

    def read(self, offset: int, length: int) -> Any:
        """``length`` bytes at ``offset``, as a bytes-like object."""
        ...


class BufferSource:
    """A bytes-like object or memory map, read as zero-copy memoryview slices.

    The slices export the buffer: an mmap cannot be closed while one lives.
    """

    def __init__(self, data: Any) -> None:
        view = memoryview(data)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        self._view = view
        self.size = view.nbytes

    def read(self, offset: int, length: int) -> memoryview:
        """A view of ``length`` bytes at ``offset``."""
        return self._view[offset : offset + length]


class SliceSource:
    """A bytes-like object or memory map read by slicing (each read copies).

    It exports no buffer, so an mmap stays closable while the source exists;
    the scanner, which closes its maps, reads through this.
    """

    def __init__(self, data: Any) -> None:
        self._data = data
        self.size = len(data)

    def read(self, offset: int, length: int) -> bytes:
        """A copy of ``length`` bytes at ``offset``."""
        return bytes(self._data[offset : offset + length])


def as_source(data: Any) -> ByteSource:
    """``data`` itself if it is a :class:`ByteSource`, else a zero-copy one."""
    if isinstance(data, (bytes, bytearray, memoryview, mmap.mmap)):
        return BufferSource(data)
    return data  # type: ignore[no-any-return]


def show_name(name: str) -> str:
    """An archive-chosen name for a message: quoted and bounded in length."""
    if len(name) > _NAME_CHARS:
        return repr(name[:_NAME_CHARS]) + "..."
    return repr(name)
