"""Byte sources: a memory map / buffer (zero-copy) or a file read on demand."""

from __future__ import annotations

import threading
from typing import Any

from .errors import TorchFormatError

__all__ = ["BufferSource", "FileSource", "Source"]


class Source:
    """Random access to the bytes of a checkpoint."""

    size: int = 0

    def read(self, offset: int, length: int) -> memoryview:
        """``length`` bytes at ``offset``; refuses ranges outside the source."""
        raise NotImplementedError

    def check(self, offset: int, length: int, what: str) -> None:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise TorchFormatError(
                f"{what}: bytes {offset}..{offset + length} lie outside the "
                f"file ({self.size} bytes)"
            )

    @property
    def zero_copy(self) -> bool:
        """Whether :meth:`read` returns views of shared memory, not copies."""
        return False


class BufferSource(Source):
    """A bytes-like object or memory map; reads are zero-copy slices."""

    def __init__(self, buffer: Any, keep: object = None) -> None:
        view = memoryview(buffer)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        self._view = view
        self._keep = keep
        self.size = view.nbytes

    def read(self, offset: int, length: int) -> memoryview:
        self.check(offset, length, "read")
        return self._view[offset : offset + length]

    @property
    def zero_copy(self) -> bool:
        return True


class FileSource(Source):
    """A seekable binary file; each read copies only the bytes asked for."""

    def __init__(self, file: Any, size: int) -> None:
        self._file = file
        self._lock = threading.Lock()
        self.size = size

    def read(self, offset: int, length: int) -> memoryview:
        self.check(offset, length, "read")
        with self._lock:
            self._file.seek(offset)
            data = self._file.read(length)
        if len(data) != length:
            raise TorchFormatError(
                f"file ended early: wanted {length} bytes at offset {offset}"
            )
        return memoryview(data)
