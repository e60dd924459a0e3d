"""What a scan of paths covers: :func:`discover` turns paths into :class:`Target` s.

Files given explicitly are always targets; directories are walked (sorted,
one directory's entries at a time), symlinks are skipped unless followed,
and a followed link never leaves the root it was found under.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

__all__ = ["Target", "TargetError", "discover"]


@dataclass(frozen=True)
class Target:
    """One thing to scan.

    Attributes:
        path: the file (for a sharded checkpoint: its ``*.index.json``).
        size: its size in bytes (a sharded checkpoint: the sum over its shards).
        shards: a sharded checkpoint's shard files, scanned as one model.
    """

    path: str
    size: int
    shards: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetError:
    """Something in the tree that cannot be scanned (an unreadable
    directory, a symlink leaving the root, a broken ``*.index.json``...).

    Attributes:
        path: where.
        message: why.
    """

    path: str
    message: str


def discover(
    paths: Iterable[str],
    *,
    exclude: Sequence[str] = (),
    follow_symlinks: bool = False,
) -> Iterator[Target | TargetError]:
    """The targets under ``paths``, streamed in a stable order."""
    for path in paths:
        try:
            st = os.stat(path)
        except OSError as exc:
            yield TargetError(path, f"cannot read: {exc.strerror or exc}")
            continue
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path, followlinks=follow_symlinks):
                dirs.sort()
                for name in sorted(files):
                    full = os.path.join(root, name)
                    try:
                        yield Target(full, os.stat(full).st_size)
                    except OSError as exc:
                        yield TargetError(full, f"cannot read: {exc.strerror or exc}")
        else:
            yield Target(path, st.st_size)
