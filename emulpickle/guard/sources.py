"""What one guarded load reads, and its sha256.

A file object backed by a regular file is hashed whole, through its file
descriptor (so a path renamed over after it was opened cannot swap what is
hashed), with the verified-hash cache; the loader then reads the file as it
would have. Any other stream is read to its end once, hashed, and the load
runs from that buffer, so nothing the loader reads is read twice and what is
loaded is exactly what was hashed.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
from typing import Any

from .hashing import default_cache, sha256_bytes, sha256_fd

__all__ = ["Source", "from_bytes", "from_path", "from_stream", "path_of"]

#: Bytes hashed per read of a file descriptor.
_CHUNK = 4 << 20


class Source:
    """The bytes of one load: their sha256, where from, and a buffer if read.

    Attributes:
        sha256: lowercase hex digest.
        path: the file's name, when known.
        data: the bytes to load from (None: the loader reads the file itself).
        start: the stream position the data was read from (for repositioning).
    """

    def __init__(
        self,
        sha256: str,
        path: str | None,
        data: bytes | None = None,
        start: int | None = None,
    ) -> None:
        self.sha256 = sha256
        self.path = path
        self.data = data
        self.start = start

    def buffer(self) -> io.BytesIO:
        """A fresh stream over :attr:`data`."""
        assert self.data is not None
        return io.BytesIO(self.data)


def path_of(file: Any) -> str | None:
    """The file name a file object carries, if it is a path."""
    name = getattr(file, "name", None)
    if isinstance(name, (str, os.PathLike)):
        return os.fsdecode(name)
    return None


def from_bytes(data: Any) -> Source:
    """The source of ``pickle.loads(data)``."""
    return Source(sha256_bytes(data), None)


def _hash_open_file(fd: int) -> str:
    """The whole file's sha256, from the verified-hash cache when it knows it.

    Keyed by the open file's ``fstat`` (not its path's: a path may name
    another file by now); the position is untouched for the loader.
    """
    return sha256_fd(fd, cache=default_cache())


def _regular_fd(file: Any) -> int | None:
    try:
        fd = file.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    if not isinstance(fd, int):
        return None
    try:
        return fd if stat.S_ISREG(os.fstat(fd).st_mode) else None
    except OSError:
        return None


def from_stream(file: Any, read: Any = None) -> Source:
    """The source of ``pickle.load(file)``: the whole file, or the rest read.

    ``read`` is the callable that reads ``file`` (default ``file.read``);
    ``file`` may be None when only ``read`` is known.
    """
    path = path_of(file)
    fd = _regular_fd(file) if file is not None else None
    if fd is not None:
        return Source(_hash_open_file(fd), path)
    start: int | None = None
    try:
        if file is not None and file.seekable():
            start = file.tell()
    except (AttributeError, OSError, ValueError):
        start = None
    data = read_rest(file.read if read is None else read)
    return Source(sha256_bytes(data), path, data, start)


def read_rest(read: Any) -> bytes:
    """Everything a ``read(n)`` callable still has (any stream, in chunks)."""
    parts: list[bytes] = []
    while True:
        chunk = read(_CHUNK)
        if not chunk:
            return b"".join(parts)
        parts.append(bytes(chunk))


def from_path(path: str | os.PathLike[str]) -> tuple[Source, io.BufferedReader]:
    """Open ``path`` and hash what was opened (the caller closes the file)."""
    handle = open(path, "rb")  # noqa: SIM115 - returned to the caller
    try:
        sha = _hash_open_file(handle.fileno())
    except BaseException:
        handle.close()
        raise
    return Source(sha, os.fsdecode(path)), handle


def reposition(file: Any, source: Source, consumed: int) -> None:
    """Leave ``file`` just after the pickle loaded from ``source``'s buffer."""
    if source.start is None:
        return
    with contextlib.suppress(AttributeError, OSError, ValueError):
        file.seek(source.start + consumed)
