"""``emulpickle manifest freeze|check|add|remove``: the pickle lock file.

``freeze`` writes a manifest (:class:`emulpickle.guard.manifest.Manifest`)
pinning every pickle-bearing file under the given paths by sha256;
``check`` lists the pickle files that are not pinned; ``add`` and
``remove`` edit a manifest. Directories are walked recursively without
following symlinks (a symlink named on the command line is followed); files
are recognised by their contents (:func:`emulpickle.guard.contents.pickle_kind`).
Files are hashed in parallel threads, through the per-user hash cache.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import IO, NamedTuple

from ..guard.contents import KIND_NAMES, pickle_kind
from ..guard.hashing import default_cache, sha256_file
from ..guard.manifest import Entry, Manifest, ManifestError, normalize_sha256
from .output import PROG, CliError, print_error, use_rich

__all__ = ["DEFAULT_MANIFEST", "Found", "find_pickles", "run"]

#: The manifest's name when ``-m``/``-o`` is not given.
DEFAULT_MANIFEST = "pickles.lock"
_WORKERS = min(8, (os.cpu_count() or 1) + 1)


class Found(NamedTuple):
    """A pickle-bearing file: where, what kind, its size and hash."""

    path: str
    kind: str
    size: int
    sha256: str


def _walk(path: str) -> Iterator[str]:
    """Regular files at or under ``path``; symlinks below it are skipped."""
    st = os.stat(path)  # a path named on the command line is followed
    if stat.S_ISREG(st.st_mode):
        yield path
        return
    if not stat.S_ISDIR(st.st_mode):
        return
    for root, dirs, files in os.walk(path, onerror=_raise):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            if stat.S_ISREG(os.lstat(full).st_mode):  # not symlinks, FIFOs...
                yield full


def _raise(exc: OSError) -> None:
    raise exc


def _inspect(path: str) -> Found | None:
    kind = pickle_kind(path)
    if kind is None:
        return None
    size = os.stat(path).st_size
    return Found(path, kind, size, sha256_file(path, cache=default_cache()))


class _Progress:
    """Files done out of a total, on stderr when it is a terminal: a rich
    bar when rich is installed, else one rewritten line; nothing otherwise."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.shown = stream.isatty() and total > 0
        self._bar: object = None
        if self.shown and use_rich(stream):
            from rich.console import Console
            from rich.progress import Progress

            progress = Progress(console=Console(file=stream), transient=True)
            self._task = progress.add_task("hashing", total=total)
            progress.start()
            self._bar = progress

    def step(self) -> None:
        self.done += 1
        if not self.shown:
            return
        if self._bar is not None:
            self._bar.advance(self._task)  # type: ignore[attr-defined]
        else:
            self.stream.write(f"\rhashing {self.done}/{self.total} files")
            self.stream.flush()

    def close(self) -> None:
        if not self.shown:
            return
        if self._bar is not None:
            self._bar.stop()  # type: ignore[attr-defined]
        else:
            self.stream.write("\r\033[K")
            self.stream.flush()


def find_pickles(paths: list[str]) -> tuple[list[Found], list[str]]:
    """The pickle-bearing files under ``paths``, hashed in parallel, sorted
    by path; and the files named on the command line that hold no pickle.
    Raises OSError for a path that cannot be read."""
    named = {p for p in paths if os.path.isfile(p)}
    files = list(dict.fromkeys(f for p in paths for f in _walk(p)))
    progress = _Progress(len(files), sys.stderr)
    found: list[Found] = []
    skipped: list[str] = []
    cache = default_cache()
    try:
        # One cache write at the end rather than one per file.
        deferred = cache.deferred() if cache is not None else nullcontext()
        with ThreadPoolExecutor(_WORKERS) as pool, deferred:
            results = _collect(pool.map(_inspect, files), progress.step)
    finally:
        progress.close()
    for path, result in zip(files, results, strict=True):
        if result is not None:
            found.append(result)
        elif path in named:
            skipped.append(path)
    return found, skipped


def _collect(
    results: Iterator[Found | None], step: Callable[[], None]
) -> list[Found | None]:
    out = []
    for result in results:
        out.append(result)
        step()
    return out


def _stored_path(path: str, manifest_path: str) -> str:
    """``path`` relative to the manifest's directory (``/``-separated) when
    inside it, else absolute."""
    base = os.path.dirname(os.path.abspath(manifest_path))
    full = os.path.abspath(path)
    relative = os.path.relpath(full, base)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return full
    return relative.replace(os.sep, "/")


def _load(path: str, *, missing_ok: bool) -> Manifest:
    if missing_ok and not os.path.exists(path):
        return Manifest()
    try:
        return Manifest.load(path)
    except ManifestError as exc:
        raise CliError(str(exc)) from exc


def _entry(found: Found, args: argparse.Namespace, old: Entry | None) -> Entry:
    """The entry for a file; a re-pinned hash keeps its note and trust
    unless --note / --trust say otherwise."""
    note = args.note if args.note is not None else (old.note if old else None)
    trust = args.trust if args.trust is not None else (old.trust if old else None)
    path = _stored_path(found.path, args.manifest)
    return Entry(found.sha256, path=path, size=found.size, note=note, trust=trust)


def _report_skipped(skipped: list[str]) -> None:
    for path in skipped:
        print(f"{PROG}: {path}: holds no pickle, not pinned", file=sys.stderr)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _freeze(args: argparse.Namespace) -> int:
    previous = _load(args.manifest, missing_ok=True)
    found, skipped = find_pickles(args.paths)
    _report_skipped(skipped)
    manifest = Manifest(_entry(f, args, previous.get(f.sha256)) for f in found)
    manifest.save(args.manifest)
    print(f"pinned {_plural(len(manifest), 'pickle file')} in {args.manifest}")
    return 0


def _add(args: argparse.Namespace) -> int:
    manifest = _load(args.manifest, missing_ok=True)
    found, skipped = find_pickles(args.paths)
    _report_skipped(skipped)
    new = 0
    for f in found:
        old = manifest.get(f.sha256)
        new += old is None
        entry = _entry(f, args, old)
        # The file's earlier contents, pinned at the same path, are replaced.
        for stale in [e for e in manifest if e.path == entry.path]:
            manifest.remove(stale.sha256)
        manifest.add(entry)
        print(f"pinned {_stored_path(f.path, args.manifest)}  sha256:{f.sha256}")
    manifest.save(args.manifest)
    print(
        f"added {_plural(new, 'pickle file')} to {args.manifest} "
        f"({len(manifest)} pinned)"
    )
    return 0


def _remove(args: argparse.Namespace) -> int:
    manifest = _load(args.manifest, missing_ok=False)
    status = 0
    for arg in args.paths:
        hashes: set[str] = set()
        if arg.lower().startswith("sha256:"):
            try:
                hashes.add(normalize_sha256(arg))
            except ManifestError as exc:
                raise CliError(str(exc), 2) from exc
        else:
            stored = _stored_path(arg, args.manifest)
            hashes.update(e.sha256 for e in manifest if e.path == stored)
            if os.path.exists(arg):
                hashes.update(f.sha256 for f in find_pickles([arg])[0])
        removed = [h for h in sorted(hashes) if manifest.remove(h)]
        for digest in removed:
            print(f"unpinned sha256:{digest} ({arg})")
        if not removed:
            print_error(f"{arg}: not in {args.manifest}")
            status = 1
    manifest.save(args.manifest)
    return status


def _check(args: argparse.Namespace) -> int:
    manifest = _load(args.manifest, missing_ok=False)
    by_path = {e.path for e in manifest if e.path is not None}
    found, _ = find_pickles(args.paths)
    unpinned = [f for f in found if f.sha256 not in manifest]
    for f in unpinned:
        stored = _stored_path(f.path, args.manifest)
        what = "changed" if stored in by_path else "not pinned"
        print(f"{what}: {f.path} ({KIND_NAMES[f.kind]}, sha256:{f.sha256})")
    if unpinned:
        print(
            f"{len(unpinned)} of {_plural(len(found), 'pickle file')} not pinned "
            f"in {args.manifest}; pin with: {PROG} manifest add PATH "
            f"-m {args.manifest}",
            file=sys.stderr,
        )
        return 1
    print(f"all {_plural(len(found), 'pickle file')} pinned in {args.manifest}")
    return 0


_ACTIONS: dict[str, Callable[[argparse.Namespace], int]] = {
    "freeze": _freeze,
    "check": _check,
    "add": _add,
    "remove": _remove,
}


def run(args: argparse.Namespace) -> int:
    """Run ``emulpickle manifest ACTION`` (see
    :func:`emulpickle.cli.parser.build_parser`)."""
    if args.manifest is None:
        args.manifest = DEFAULT_MANIFEST
    if args.action != "freeze" and args.action != "add" and (args.note or args.trust):
        raise CliError(f"--note and --trust are for freeze and add, not {args.action}")
    return _ACTIONS[args.action](args)
