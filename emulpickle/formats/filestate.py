"""When a file is unchanged: the key of a file's state, and the racy rule.

Shared by the guard's hash cache (:mod:`emulpickle.guard.hashing`) and the
scanner's result cache (:mod:`emulpickle.scanner.resultcache`), which both
remember something about a file's bytes without reading them again.

A file's state is ``(st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)``.
Any write changes ``st_mtime_ns`` or ``st_size``; ``st_ctime_ns`` is in the
key too because a process can set ``st_mtime`` back (``os.utime``) but not
``st_ctime``, so a file rewritten to the same size with its old mtime
restored still misses. Something learnt from a file's bytes is only stored
under its state when the file's mtime is older than :data:`RACY_SECONDS`
before the reading started: on a file system with coarse timestamps, a write
in the same tick as the reading would otherwise keep the key and make the
stored answer stale.
"""

from __future__ import annotations

import hashlib
import os
import re

__all__ = ["RACY_SECONDS", "STATE_KEY", "changed_recently", "sha256_of_fd", "state_key"]

#: How much of a file :func:`sha256_of_fd` reads at a time.
_CHUNK = 1 << 20

#: A file modified less than this long before reading started is not cached
#: (FAT's mtime has a 2 s resolution; most others are finer).
RACY_SECONDS = 3.0

#: What a :func:`state_key` looks like (to validate keys read back from disk).
STATE_KEY = re.compile(r"\d{1,20}:\d{1,20}:\d{1,20}:-?\d{1,25}:-?\d{1,25}")


def state_key(st: os.stat_result) -> str:
    """The key of a file's identity and state, from its ``os.stat``/``fstat``."""
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def changed_recently(st: os.stat_result, started_ns: int) -> bool:
    """Whether the file whose stat is ``st`` changed too recently before
    ``started_ns`` (a ``time.time_ns()``) for its state to be trusted."""
    return st.st_mtime_ns > started_ns - int(RACY_SECONDS * 1e9)


def sha256_of_fd(fd: int) -> str:
    """The sha256 (hex) of the whole file open as ``fd``; raises OSError.

    Read with ``os.pread`` into one reused-size buffer: the file position
    is left untouched, and, unlike hashing through a memory map, the file's
    pages never count as the process's memory (a 10 GB checkpoint hashes in
    a megabyte).
    """
    digest = hashlib.sha256()
    offset = 0
    while True:
        chunk = os.pread(fd, _CHUNK, offset)
        if not chunk:
            return digest.hexdigest()
        digest.update(chunk)
        offset += len(chunk)
