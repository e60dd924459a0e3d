"""What a scan of paths covers: :func:`discover` turns paths into :class:`Target` s.

A file given explicitly is always a target (a symlink given is followed); a
directory is walked depth first in name order, streaming: one directory's
entries are listed at a time, never the whole tree. Every regular file is a
target — what it is, is found from its content later — except the shards of
a sharded checkpoint, which are scanned as one model with their index:

* ``--exclude`` globs (``fnmatch``, case-sensitive) match an entry's path
  relative to the root given (with ``/``) or its base name; an excluded
  directory is not entered.
* Symlinks are not followed, unless ``follow_symlinks``; then only to
  within the root given (its real path), and a directory already walked is
  not walked again (symlink loops). A symlink pointing outside the root is
  a :class:`TargetError` either way: a tree that links to the host's files
  is worth knowing about, and they are not the tree's to scan.
* Fifos, devices and sockets are :class:`TargetError` s (opening a fifo
  blocks), as are directories that cannot be listed: never an exception.
* A ``*.index.json`` holding a ``weight_map`` (``{tensor: shard file}``,
  as ``transformers`` writes for ``pytorch_model.bin.index.json`` and
  ``model.safetensors.index.json``) makes one :class:`Target` whose
  ``shards`` are the files it names, which are then not targets of their
  own. Shard names must be plain names in the index's directory (no
  separator, no ``..``) and the index at most :data:`MAX_INDEX_BYTES`;
  a broken index is a :class:`TargetError` (its shards, unclaimed, are
  then scanned as files). A shard that is missing is an error in the
  model's result, not here.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from .._render import bounded_repr

__all__ = ["INDEX_SUFFIX", "MAX_INDEX_BYTES", "Target", "TargetError", "discover"]

#: The end of the name of a sharded checkpoint's index.
INDEX_SUFFIX = ".index.json"
#: The largest index read (a model of thousands of tensors has one of a few
#: hundred kilobytes).
MAX_INDEX_BYTES = 32 << 20


@dataclass(frozen=True)
class Target:
    """One thing to scan.

    Attributes:
        path: the file (for a sharded checkpoint: its ``*.index.json``).
        size: its size in bytes (a sharded checkpoint: the sum over the
            shards that exist).
        shards: a sharded checkpoint's shard files, scanned as one model.
    """

    path: str
    size: int
    shards: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetError:
    """Something in the tree that cannot be scanned (an unreadable
    directory, a special file, a symlink leaving the root, a broken
    ``*.index.json``...).

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
    """The targets under ``paths``, streamed in a stable order.

    Args:
        paths: files and directories (as given: results name paths under
            them).
        exclude: globs matched against paths relative to each directory
            given, and against base names.
        follow_symlinks: follow symlinks found in directories (never out of
            the directory given).

    Yields:
        A :class:`Target` for each file (or sharded checkpoint), a
        :class:`TargetError` for what cannot be scanned.
    """
    for path in paths:
        path = os.fspath(path)
        try:
            st = os.stat(path)
        except OSError as exc:
            yield TargetError(path, _why("cannot read it", exc))
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _Walk(path, tuple(exclude), follow_symlinks).run()
        elif stat.S_ISREG(st.st_mode):
            model = _read_index(path, st.st_size, follow_symlinks, None)
            if isinstance(model, list):
                yield from model
            else:
                yield Target(path, st.st_size)
        else:
            yield TargetError(path, _special(st.st_mode))


def _why(what: str, exc: OSError) -> str:
    return f"{what}: {exc.strerror or exc}"


def _special(mode: int) -> str:
    kind = (
        "a fifo"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
    )
    return f"{kind}, not a regular file: not scanned"


def _inside(real: str, root: str) -> bool:
    """Whether the real path ``real`` lies within the real path ``root``."""
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class _Subdirectory:
    """A directory met in a walk: its path, its path from the root (ending
    in ``/``), its identity (device, inode) and whether a symlink led there."""

    path: str
    rel: str
    key: tuple[int, int]
    link: bool


class _Walk:
    """One directory given to :func:`discover`, walked."""

    def __init__(self, root: str, exclude: tuple[str, ...], follow: bool) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.exclude = exclude
        self.follow = follow
        self.seen: set[tuple[int, int]] = set()

    def excluded(self, rel: str, name: str) -> bool:
        return any(fnmatchcase(rel, g) or fnmatchcase(name, g) for g in self.exclude)

    def run(self) -> Iterator[Target | TargetError]:
        # An explicit stack, not recursion: trees may be deeper than
        # Python's recursion limit.
        try:
            st = os.stat(self.root)
        except OSError as exc:  # gone since it was found
            yield TargetError(self.root, _why("cannot read it", exc))
            return
        key = (st.st_dev, st.st_ino)
        self.seen.add(key)
        stack = [(self.directory(self.root, ""), key)]
        while stack:
            item = next(stack[-1][0], None)
            if item is None:
                stack.pop()
            elif isinstance(item, _Subdirectory):
                if any(item.key == k for _, k in stack):
                    why = "a symlink to a directory it is in (a loop): not followed"
                    yield TargetError(item.path, why)
                elif not (item.link and item.key in self.seen):
                    # A directory is walked once through symlinks (links to
                    # links could otherwise multiply the tree), and always
                    # where it really is.
                    self.seen.add(item.key)
                    stack.append((self.directory(item.path, item.rel), item.key))
            else:
                yield item

    def directory(
        self, path: str, rel: str
    ) -> Iterator[Target | TargetError | _Subdirectory]:
        """One directory's targets, and its subdirectories to walk, in name
        order."""
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield TargetError(path, _why("cannot list the directory", exc))
            return
        claimed: set[str] = set()
        models: dict[str, list[Target | TargetError]] = {}
        for entry in entries:
            if entry.name.endswith(INDEX_SUFFIX) and not self.excluded(
                f"{rel}{entry.name}", entry.name
            ):
                st = self.regular(entry)
                if isinstance(st, os.stat_result):
                    model = _read_index(entry.path, st.st_size, self.follow, self)
                    if model is not None:
                        models[entry.name] = model
                        for item in model:
                            if isinstance(item, Target):
                                claimed.update(map(os.path.basename, item.shards))
        for entry in entries:
            name = entry.name
            sub = f"{rel}{name}"
            if self.excluded(sub, name) or name in claimed:
                continue
            if name in models:
                yield from models[name]
                continue
            try:
                link = entry.is_symlink()
                if link:
                    problem = self.link_problem(entry.path)
                    if problem is not None:
                        if problem:
                            yield TargetError(entry.path, problem)
                        continue
                st = os.stat(entry.path) if link else entry.stat(follow_symlinks=False)
            except OSError as exc:
                yield TargetError(entry.path, _why("cannot read it", exc))
                continue
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                yield _Subdirectory(entry.path, f"{sub}/", key, link)
            elif stat.S_ISREG(st.st_mode):
                yield Target(entry.path, st.st_size)
            else:
                yield TargetError(entry.path, _special(st.st_mode))

    def link_problem(self, path: str) -> str | None:
        """Why the symlink ``path`` is not followed (``""``: no need to say),
        or None to follow it."""
        real = os.path.realpath(path)
        if not _inside(real, self.real_root):
            return "a symlink to outside the tree: not followed"
        if not self.follow:
            return ""  # what it points to is in the tree, scanned there
        if not os.path.exists(real):
            return "a dangling symlink: not followed"
        return None

    def regular(self, entry: os.DirEntry[str]) -> os.stat_result | None:
        """The entry's stat if it is a regular file to read (a symlink only
        when followed and within the tree)."""
        try:
            if entry.is_symlink() and self.link_problem(entry.path) is not None:
                return None
            st = os.stat(entry.path)
        except OSError:
            return None
        return st if stat.S_ISREG(st.st_mode) else None


def _read_index(
    path: str, size: int, follow: bool, walk: _Walk | None
) -> list[Target | TargetError] | None:
    """The sharded checkpoint an index file describes (the model's
    :class:`Target` and a :class:`TargetError` per shard left out), a
    :class:`TargetError` for a broken index, or None when ``path`` is no
    index (not named so, or no ``weight_map``)."""
    if not path.endswith(INDEX_SUFFIX):
        return None
    if size > MAX_INDEX_BYTES:
        why = f"an index of {size} bytes (more than {MAX_INDEX_BYTES}): not read"
        return [TargetError(path, why)]
    try:
        with open(path, "rb") as f:
            index = json.loads(f.read(MAX_INDEX_BYTES + 1))
    except OSError as exc:
        return [TargetError(path, _why("cannot read the index", exc))]
    except (ValueError, RecursionError) as exc:
        return [TargetError(path, f"a broken index: not JSON ({exc})")]
    if not isinstance(index, dict) or "weight_map" not in index:
        return None
    weight_map = index["weight_map"]
    if not isinstance(weight_map, dict) or not all(
        isinstance(v, str) for v in weight_map.values()
    ):
        return [TargetError(path, "a broken index: weight_map is not {tensor: file}")]
    names = sorted(set(weight_map.values()))
    for name in names:
        if (
            not name
            or name in (".", "..")
            or any(c in name for c in "/\\\0")
            or name.endswith(INDEX_SUFFIX)
        ):
            return [
                TargetError(
                    path,
                    f"a broken index: shard {bounded_repr(name)} is not a plain "
                    "file name in the index's directory",
                )
            ]
    if not names:
        return None
    base = os.path.dirname(path)
    out: list[Target | TargetError] = []
    shards: list[str] = []
    total = 0
    for name in names:
        shard = os.path.join(base, name)
        try:
            st = os.lstat(shard)
        except OSError:
            shards.append(shard)  # missing: an error in the model's result
            continue
        if stat.S_ISLNK(st.st_mode):
            real = os.path.realpath(shard)
            root = walk.real_root if walk is not None else os.path.realpath(base)
            if not follow or not _inside(real, root):
                why = "a shard that is a symlink: not followed"
                out.append(TargetError(shard, why))
                continue
            try:
                st = os.stat(shard)
            except OSError:
                shards.append(shard)
                continue
        if not stat.S_ISREG(st.st_mode):
            out.append(TargetError(shard, _special(st.st_mode)))
            continue
        shards.append(shard)
        total += st.st_size
    return [Target(path, total, tuple(shards)), *out]
