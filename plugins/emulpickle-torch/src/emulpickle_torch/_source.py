"""Byte sources: a memory map / buffer (zero-copy) or a file read on demand."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import Any

from .errors import TorchFormatError

__all__ = ["BufferSource", "FileSource", "Source", "SourceFile"]


class Source:
    """Random access to the bytes of a checkpoint.

    Attributes:
        size: the number of bytes.
        private: a writable buffer of the whole file that only this load
            sees (a copy-on-write map, or bytes read into a bytearray), when
            the file was opened for real tensors; they view it without a copy.
            None otherwise.
    """

    size: int = 0
    private: Any = None

    def read(self, offset: int, length: int) -> memoryview:
        """``length`` bytes at ``offset``; refuses ranges outside the source."""
        raise NotImplementedError

    def check(self, offset: int, length: int, what: str) -> None:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise TorchFormatError(
                f"{what}: bytes {offset}..{offset + length} lie outside the "
                f"file ({self.size} bytes)"
            )

    def reader(self, offset: int, length: int) -> Callable[[], memoryview]:
        """A function that reads ``length`` bytes at ``offset`` when called."""
        return lambda: self.read(offset, length)

    @property
    def zero_copy(self) -> bool:
        """Whether :meth:`read` returns views of shared memory, not copies."""
        return False


class BufferSource(Source):
    """A bytes-like object or memory map; reads are zero-copy slices."""

    def __init__(self, buffer: Any, keep: object = None, private: bool = False) -> None:
        view = memoryview(buffer)
        if private:
            self.private = buffer
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


class SourceFile(io.RawIOBase):
    """A seekable read-only file over ``size`` bytes of a :class:`Source`.

    Positions count from ``start``; nothing beyond the window is ever read, so
    a pickle in one tar member cannot run on into the next.

    Attributes:
        size: the window's length in bytes.
    """

    def __init__(self, source: Source, start: int = 0, size: int | None = None) -> None:
        super().__init__()
        self._source = source
        self._start = start
        self.size = source.size - start if size is None else size
        source.check(start, self.size, "file window")
        self._pos = 0

    def absolute(self, offset: int) -> int:
        """The source offset of ``offset`` in this window."""
        return self._start + offset

    def reader(self, offset: int, length: int) -> Callable[[], memoryview]:
        """Like :meth:`Source.reader`, at an offset into this window."""
        return self._source.reader(self._start + offset, length)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        count = max(0, min(len(view), self.size - self._pos))
        if count:
            view[:count] = self._source.read(self._start + self._pos, count)
            self._pos += count
        return count
