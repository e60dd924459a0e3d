"""SHA-256 of bytes and files, and a cache of hashes already verified.

Hashing streams the file in 1 MiB chunks into a reused buffer: ``hashlib``
releases the GIL on each chunk, so threads hash several files in parallel.

:class:`HashCache` remembers the hash of a file by its identity and state,
``(st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)``, so that a 500 MB
checkpoint is not hashed on every load; the key and the rule for when a
file's state can be trusted (not changed in the last :data:`RACY_SECONDS`)
are :mod:`emulpickle.formats.filestate`'s, shared with the scanner's result
cache.

The cache is a per-user JSON file (``$XDG_CACHE_HOME/emulpickle/hashes.json``,
else ``~/.cache/emulpickle/hashes.json``), created 0o600 in a 0o700 directory.
It is only ever used to look a hash up: a file that is corrupt, too large, a
symlink, not owned by the user or writable by others is ignored, and entries
that are not exactly a key and 64 hex digits are dropped. Anyone who can write
that file can claim any hash for any file, as the user who owns it can; it
is as trusted as the user's own home directory. Set
``EMULPICKLE_NO_HASH_CACHE=1`` to hash every time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from mmap import mmap
from pathlib import Path

from ..formats.filestate import (
    RACY_SECONDS,
    STATE_KEY,
    changed_recently,
    sha256_of_fd,
)
from ..formats.filestate import state_key as _key
from ._atomic import write_atomic

__all__ = [
    "CACHE_ENV",
    "MAX_CACHE_ENTRIES",
    "RACY_SECONDS",
    "HashCache",
    "default_cache",
    "default_cache_path",
    "sha256_bytes",
    "sha256_fd",
    "sha256_file",
]

#: Setting this environment variable to ``1`` disables :func:`default_cache`.
CACHE_ENV = "EMULPICKLE_NO_HASH_CACHE"
#: The cache keeps at most this many hashes (the oldest go first).
MAX_CACHE_ENTRIES = 100_000
#: A cache file larger than this is ignored unread.
MAX_CACHE_BYTES = 64 * 1024 * 1024
_CACHE_KEY = "emulpickle-hash-cache"
_KEY = STATE_KEY
_HEX = re.compile(r"[0-9a-f]{64}")


def sha256_bytes(data: bytes | bytearray | memoryview | mmap) -> str:
    """The sha256 of ``data``, as lowercase hex (an mmap is hashed in place)."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str], *, cache: HashCache | None = None) -> str:
    """The sha256 of the file at ``path``, streamed; raises OSError.

    With ``cache``, a hash verified earlier for the same file in the same
    state is returned without reading, and a newly computed one is stored
    (unless the file changed while it was read, or just before).
    """
    with open(path, "rb") as f:
        # The key is the opened file's, not the path's: the path may be
        # swapped for another file between a stat and the open.
        return sha256_fd(f.fileno(), cache=cache)


def sha256_fd(fd: int, *, cache: HashCache | None = None) -> str:
    """The sha256 of the whole regular file open as ``fd``; raises OSError.

    The file position is left untouched (the bytes are read with
    ``os.pread``), so a loader can go on reading the same descriptor. The
    cache rule is :func:`sha256_file`'s, keyed by the descriptor's ``fstat``.
    """
    started = time.time_ns()
    before = os.fstat(fd)
    if cache is not None:
        known = cache.lookup_stat(before)
        if known is not None:
            return known
    result = sha256_of_fd(fd)
    after = os.fstat(fd)
    if (
        cache is not None
        and _key(before) == _key(after)
        and not changed_recently(after, started)
    ):
        cache.store_stat(after, result)
    return result


def default_cache_path() -> Path:
    """Where the per-user cache lives: ``$XDG_CACHE_HOME`` (when absolute)
    or ``~/.cache``, then ``emulpickle/hashes.json``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "emulpickle" / "hashes.json"


def _read_private(path: Path) -> bytes | None:
    """The file's bytes when it is a regular file that only this user can
    write (and not a symlink); None otherwise, or when unreadable."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_CACHE_BYTES:
            return None
        getuid = getattr(os, "getuid", None)
        if getuid is not None and (st.st_uid != getuid() or st.st_mode & 0o022):
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(MAX_CACHE_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def _parse(data: bytes) -> dict[str, str]:
    """The valid entries of a cache file's bytes; {} for anything malformed."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return {}
    if not isinstance(doc, dict) or doc.get(_CACHE_KEY) != 1:
        return {}
    entries = doc.get("hashes")
    if not isinstance(entries, dict):
        return {}
    return {
        k: v
        for k, v in entries.items()
        if isinstance(v, str) and _KEY.fullmatch(k) and _HEX.fullmatch(v)
    }


class HashCache:
    """Verified hashes keyed by a file's identity and state (see the module
    docstring); thread-safe. Reads its file once, on first use, and rewrites
    it (atomically, merged with what another process wrote meanwhile) on each
    :meth:`store`, or once at the end of a :meth:`deferred` block."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self._hashes: dict[str, str] | None = None
        self._dirty = False
        self._defer = 0
        self._lock = threading.RLock()

    def _loaded(self) -> dict[str, str]:
        if self._hashes is None:
            data = _read_private(self.path)
            self._hashes = _parse(data) if data is not None else {}
        return self._hashes

    def lookup(self, path: str | os.PathLike[str]) -> str | None:
        """The cached hash of the file at ``path`` in its current state, or
        None (also when it cannot be stat'ed)."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        return self.lookup_stat(st)

    def lookup_stat(self, st: os.stat_result) -> str | None:
        """The cached hash for a file whose ``os.stat``/``os.fstat`` is ``st``."""
        if not stat.S_ISREG(st.st_mode):
            return None
        with self._lock:
            return self._loaded().get(_key(st))

    def store(self, path: str | os.PathLike[str], sha256: str) -> None:
        """Remember that the file at ``path``, as it is now, hashes to
        ``sha256`` (the caller verified it)."""
        self.store_stat(os.stat(path), sha256)

    def store_stat(self, st: os.stat_result, sha256: str) -> None:
        """Remember ``sha256`` for a file whose stat is ``st``."""
        if not _HEX.fullmatch(sha256):
            raise ValueError("sha256 must be 64 lowercase hex digits")
        if not stat.S_ISREG(st.st_mode):
            return
        with self._lock:
            hashes = self._loaded()
            key = _key(st)
            if hashes.get(key) == sha256:
                return
            hashes[key] = sha256
            self._dirty = True
            if not self._defer:
                self.flush()

    @contextmanager
    def deferred(self) -> Iterator[HashCache]:
        """Store without writing until the block ends (one write for many files)."""
        with self._lock:
            self._defer += 1
        try:
            yield self
        finally:
            with self._lock:
                self._defer -= 1
                if not self._defer:
                    self.flush()

    def flush(self) -> None:
        """Write pending hashes to the file; a cache that cannot be written
        is not an error (the hashes stay in memory for this process)."""
        with self._lock:
            if not self._dirty:
                return
            hashes = self._loaded()
            on_disk = _read_private(self.path)
            if on_disk is not None:
                hashes = {**_parse(on_disk), **hashes}
            # Dicts keep insertion order: drop the oldest beyond the bound.
            excess = len(hashes) - MAX_CACHE_ENTRIES
            if excess > 0:
                hashes = dict(list(hashes.items())[excess:])
            self._hashes = hashes
            self._dirty = False
            with suppress(OSError):
                self._write(hashes)

    def _write(self, hashes: dict[str, str]) -> None:
        directory = self.path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = json.dumps({_CACHE_KEY: 1, "hashes": hashes}, separators=(",", ":"))
        write_atomic(self.path, text, mode=0o600)

    def __len__(self) -> int:
        with self._lock:
            return len(self._loaded())


_default: HashCache | None = None
_default_lock = threading.Lock()


def default_cache() -> HashCache | None:
    """The process's shared per-user :class:`HashCache`, or None when
    ``EMULPICKLE_NO_HASH_CACHE=1`` (or the home directory is unknown)."""
    global _default
    if os.environ.get(CACHE_ENV, "") == "1":
        return None
    try:
        path = default_cache_path()
    except RuntimeError:  # Path.home() without HOME or a passwd entry
        return None
    with _default_lock:
        if _default is None or _default.path != path:
            _default = HashCache(path)
        return _default
