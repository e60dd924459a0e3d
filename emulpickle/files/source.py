"""What :func:`emulpickle.open_file` reads: a path, bytes, or a binary file object.

A path stays a path (its loaders memory-map it or read it in place); bytes
and file objects are held as bytes (a file object is read from its current
position to its end, since a stream such as standard input can be read only
once).
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
from collections.abc import Iterator
from typing import Any, BinaryIO

__all__ = ["Input", "read_input"]


class Input:
    """One input: a file on disk (``path``) or bytes in memory (``data``).

    Attributes:
        name: what messages call it (the path, or the file object's name).
        path: the file's path, or None for bytes in memory.
        data: the bytes, or None for a file on disk.
        size: its length in bytes.
    """

    def __init__(
        self, name: str, *, path: str | None = None, data: bytes | None = None
    ) -> None:
        self.name = name
        self.path = path
        self.data = data
        if data is not None:
            self.size = len(data)
        else:
            assert path is not None
            self.size = os.stat(path).st_size

    def head(self, n: int) -> bytes:
        """The first ``n`` bytes (fewer in a shorter input)."""
        if self.data is not None:
            return self.data[:n]
        with open(self.path or "", "rb") as f:
            return f.read(n)

    def open(self) -> BinaryIO:
        """A new seekable binary file object over the input, at offset 0."""
        if self.data is not None:
            return io.BytesIO(self.data)
        return open(self.path or "", "rb")

    @contextlib.contextmanager
    def mapped(self) -> Iterator[Any]:
        """The whole input as a bytes-like object (a read-only memory map of
        a file), for readers that slice it; the map is closed afterwards
        unless something still views it (then it closes when released)."""
        if self.data is not None or self.size == 0:
            yield self.data if self.data is not None else b""
            return
        with open(self.path or "", "rb") as f:
            view = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            yield view
        finally:
            with contextlib.suppress(BufferError):
                view.close()


def read_input(file: Any, name: str | None = None) -> Input:
    """An :class:`Input` for ``file``: a path (``str`` or ``os.PathLike``),
    a bytes-like object, or a binary file object (read to its end).

    Raises:
        OSError: the file cannot be read.
        TypeError: ``file`` is none of these (a text stream, say).
    """
    if isinstance(file, (str, os.PathLike)):
        path = os.fspath(file)
        if not isinstance(path, str):
            path = os.fsdecode(path)
        with open(path, "rb"):  # the error a missing file gives, here
            pass
        return Input(name or path, path=path)
    if isinstance(file, (bytes, bytearray, memoryview)):
        return Input(name or "<bytes>", data=bytes(file))
    read = getattr(file, "read", None)
    if read is None:
        raise TypeError(
            "open_file() takes a path, a bytes-like object or a binary file "
            f"object, not {type(file).__name__}"
        )
    data = read()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"open_file() needs a binary file object; read() gave {type(data).__name__}"
        )
    label = getattr(file, "name", None)
    return Input(
        name or (label if isinstance(label, str) else "<file>"), data=bytes(data)
    )
