"""Writing a file atomically: a reader sees the old file or the new one."""

from __future__ import annotations

import contextlib
import os
import tempfile

__all__ = ["write_atomic"]


def write_atomic(path: str | os.PathLike[str], text: str, *, mode: int) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` through a
    temporary file in the same directory, renamed over ``path``; the file
    gets permissions ``mode``. ``os.replace`` replaces a symlink planted at
    ``path`` rather than writing through it."""
    directory = os.path.dirname(os.path.abspath(path))
    # mkstemp creates the file 0o600, so no one reads it half-written.
    fd, tmp = tempfile.mkstemp(prefix=".emulpickle-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        if mode != 0o600:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
