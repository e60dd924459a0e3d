"""The scan result cache: a re-scan of an unchanged tree costs a stat per file.

Results are keyed by the sha256 of the file's bytes and the scanner's
version (:func:`scanner_version`: emulpickle's and the installed
first-party plugins' versions, the cache format and the limits), and a file's
state (:func:`emulpickle.formats.filestate.state_key`: device, inode, size,
mtime and ctime) maps to its sha256, so that an unchanged file is answered
without being opened. The file state is only recorded when it was the same
before and after the scan and did not change just before it (the racy rule
of :mod:`emulpickle.formats.filestate`). Results are stored raw: a policy
is applied after the cache.

One SQLite file (``$XDG_CACHE_HOME/emulpickle/scan-cache.sqlite3``, else
``~/.cache/...``), in WAL mode with a busy timeout so that concurrent scans
share it; created 0o600 in a 0o700 directory. A cache that is corrupt, not
a regular file, not the user's or writable by others is not used (a warning
says so), and a row that does not read back as a valid result is a miss, so
a broken cache costs time, never a wrong answer. Anyone who can write the
file can claim any result for any file, as the user who owns it can: it is as
trusted as the user's home directory. A sharded checkpoint is cached under
the states of its index and every shard together (a change to any misses).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import stat
import time
import warnings
from pathlib import Path
from typing import Any

from ..formats.filestate import changed_recently, state_key
from ..limits import Limits
from .filescan import FileResult
from .targets import Target

__all__ = [
    "CACHE_FORMAT",
    "CacheWarning",
    "ResultCache",
    "default_cache_dir",
    "scanner_version",
]

#: Bumped whenever what a cached result means changes.
CACHE_FORMAT = 1
_HEX = re.compile(r"[0-9a-f]{64}")
_FILE = "scan-cache.sqlite3"
#: Commit stored results at least this often (seconds) during a scan.
_COMMIT_SECONDS = 1.0


class CacheWarning(UserWarning):
    """The result cache cannot be used (the scan goes on without it)."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/emulpickle`` (when absolute), else ``~/.cache/emulpickle``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "emulpickle"


def scanner_version(limits: Limits | None = None) -> str:
    """What a cached result depends on besides the file's bytes."""
    import emulpickle
    from emulpickle.files import plugin_versions

    plugins = ",".join(f"{k}={v}" for k, v in plugin_versions().items())
    bounds = "" if limits is None else repr(limits)
    return f"{CACHE_FORMAT};emulpickle={emulpickle.__version__};{plugins};{bounds}"


def _target_stats(target: Target) -> list[os.stat_result] | None:
    """The stats of a cacheable target's files (a sharded checkpoint: its
    index, then every shard), None when it is not cacheable (a URL, a file
    missing or not regular)."""
    if "://" in target.path:
        return None
    stats = []
    for path in (target.path, *target.shards):
        try:
            st = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        stats.append(st)
    return stats


def _target_state(target: Target) -> str | None:
    """The state key of a cacheable target, None when it is not. A sharded
    checkpoint's joins the keys of its index and every shard, so a change
    to any of them misses."""
    stats = _target_stats(target)
    if stats is None:
        return None
    return "+".join(state_key(st) for st in stats)


class ResultCache:
    """Scan results by file state and sha256, in one SQLite file."""

    def __init__(self, directory: str | os.PathLike[str] | None, version: str) -> None:
        self.directory = (
            Path(directory) if directory is not None else default_cache_dir()
        )
        self.path = self.directory / _FILE
        self.version = version
        self._db: sqlite3.Connection | None = None
        self._broken = False
        self._pending = 0
        self._last_commit = time.monotonic()

    def _warn(self, why: str) -> None:
        if not self._broken:
            warnings.warn(
                f"emulpickle: result cache {self.path} not used: {why}",
                CacheWarning,
                stacklevel=3,
            )
        self._broken = True
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def _connect(self) -> sqlite3.Connection | None:
        if self._broken:
            return None
        if self._db is not None:
            return self._db
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(
                self.path,
                os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0),
                0o600,
            )
            try:
                st = os.fstat(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            self._warn(exc.strerror or str(exc))
            return None
        getuid = getattr(os, "getuid", None)
        if not stat.S_ISREG(st.st_mode):
            self._warn("not a regular file")
            return None
        if getuid is not None and (st.st_uid != getuid() or st.st_mode & 0o022):
            self._warn("not owned by this user, or writable by others")
            return None
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS states"
                " (state TEXT PRIMARY KEY, sha256 TEXT NOT NULL)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS results (sha256 TEXT NOT NULL,"
                " version TEXT NOT NULL, result TEXT NOT NULL,"
                " PRIMARY KEY (sha256, version))"
            )
        except sqlite3.Error as exc:
            self._warn(f"{type(exc).__name__}: {exc}")
            return None
        self._db = db
        return db

    def lookup(self, target: Target) -> tuple[str | None, FileResult | None]:
        """``target``'s state key now (None: not cacheable) and the cached
        result for it (None: a miss)."""
        state = _target_state(target)
        if state is None:
            return None, None
        db = self._connect()
        if db is None:
            return state, None
        try:
            row = db.execute(
                "SELECT r.sha256, r.result FROM states s JOIN results r"
                " ON r.sha256 = s.sha256 AND r.version = ? WHERE s.state = ?",
                (self.version, state),
            ).fetchone()
        except sqlite3.Error as exc:
            self._warn(f"{type(exc).__name__}: {exc}")
            return state, None
        if row is None:
            return state, None
        return state, _decode(row[0], row[1], target)

    def store(
        self, target: Target, state: str | None, started_ns: int, result: FileResult
    ) -> None:
        """Remember ``result`` for ``target``, whose state before the scan
        (started at ``started_ns``) was ``state``."""
        sha = result.sha256
        if state is None or sha is None or not _HEX.fullmatch(sha):
            return
        if result.format == "unreadable":
            return
        stats = _target_stats(target)
        if (
            stats is None
            or "+".join(state_key(st) for st in stats) != state
            or any(changed_recently(st, started_ns) for st in stats)
        ):
            return  # changed while scanned, or too recently to trust its state
        db = self._connect()
        if db is None:
            return
        text = json.dumps(result.to_dict(), separators=(",", ":"))
        try:
            if not self._pending:
                db.execute("BEGIN")
            db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?)",
                (sha, self.version, text),
            )
            db.execute("INSERT OR REPLACE INTO states VALUES (?, ?)", (state, sha))
            self._pending += 1
            if time.monotonic() - self._last_commit > _COMMIT_SECONDS:
                self.commit()
        except sqlite3.Error as exc:
            self._warn(f"{type(exc).__name__}: {exc}")

    def commit(self) -> None:
        """Write what was stored so far."""
        self._last_commit = time.monotonic()
        if self._db is None or not self._pending:
            return
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._warn(f"{type(exc).__name__}: {exc}")
        self._pending = 0

    def close(self) -> None:
        """Commit and close."""
        self.commit()
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def __len__(self) -> int:
        db = self._connect()
        if db is None:
            return 0
        try:
            query = "SELECT COUNT(*) FROM results WHERE version = ?"
            return int(db.execute(query, (self.version,)).fetchone()[0])
        except sqlite3.Error:
            return 0


def _decode(sha: object, text: object, target: Target) -> FileResult | None:
    """A cached row as the result for ``target``; None when it is malformed."""
    try:
        if not isinstance(text, str) or not isinstance(sha, str):
            return None
        doc: Any = json.loads(text)
        if not isinstance(doc, dict) or doc.get("sha256") != sha:
            return None
        result = FileResult.from_dict(doc)
    except (ValueError, TypeError, KeyError, RecursionError):
        return None
    return result.replace(file=target.path)
