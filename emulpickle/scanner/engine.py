"""Scanning many files: :func:`scan_paths`, in-process, on worker processes or Dask.

The paths are discovered first (:func:`~.targets.discover`; fsspec URLs are
listed with fsspec), each target is looked up in the result cache (a stat),
and what is left is partitioned by size: files of at least
:data:`BIG_FILE_BYTES` each make a task of their own, the others are packed
into batches of at most :data:`BATCH_BYTES` and :data:`BATCH_FILES`; tasks
are submitted biggest first, so that one huge checkpoint starts early and
never holds up a batch of small files behind it. Workers open the files
themselves (a path, or a URL through fsspec); only targets go out and only
results (:meth:`FileResult.to_dict` dicts) come back. Results are yielded as
their task completes, the policy applied to each.

What bounds a worker's memory is the scanner's: a file is read through a
memory map or in chunks, and every allocation a hostile file can cause is
bounded by :class:`~emulpickle.Limits` (``max_inflated_bytes`` for what an
archive inflates, the machine's limits for a pickle); a worker holds one file
at a time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, as_completed
from fnmatch import fnmatchcase
from typing import Any

from ..limits import Limits
from .filescan import FileResult, scan_target
from .policyfile import ScanPolicy
from .targets import Target, TargetError, discover

__all__ = [
    "BATCH_BYTES",
    "BATCH_FILES",
    "BIG_FILE_BYTES",
    "ScanStream",
    "is_dask_client",
    "partition",
    "scan_paths",
]

#: A file at least this large is a task of its own.
BIG_FILE_BYTES = 64 << 20
#: A batch of small files holds at most this many bytes...
BATCH_BYTES = 64 << 20
#: ... and this many files.
BATCH_FILES = 256


def is_dask_client(executor: object) -> bool:
    """Whether ``executor`` is a ``distributed.Client`` (without importing
    ``distributed`` unless it is one)."""
    cls = type(executor)
    if cls.__module__.split(".")[0] != "distributed":
        return False
    return isinstance(executor, _optional("distributed").Client)


def partition(targets: Sequence[Target], workers: int = 1) -> list[list[Target]]:
    """Tasks of targets, biggest first: big files alone, small ones batched
    (a batch is also kept small enough that ``workers`` get several each)."""
    ordered = sorted(targets, key=lambda t: (-t.size, t.path))
    tasks: list[list[Target]] = [[t] for t in ordered if t.size >= BIG_FILE_BYTES]
    small = [t for t in ordered if t.size < BIG_FILE_BYTES]
    per_task = max(1, min(BATCH_FILES, -(-len(small) // (4 * max(1, workers)))))
    batch: list[Target] = []
    size = 0
    for t in small:
        if batch and (len(batch) >= per_task or size + t.size > BATCH_BYTES):
            tasks.append(batch)
            batch, size = [], 0
        batch.append(t)
        size += t.size
    if batch:
        tasks.append(batch)
    return tasks


def _optional(name: str) -> Any:
    """An optional dependency (fsspec, distributed), typed as Any: whether
    it is installed, and typed, depends on the environment."""
    import importlib

    return importlib.import_module(name)


def _unreadable(path: str, size: int, message: str) -> FileResult:
    return FileResult(path, "unreadable", size, None, [], [message])


def _scan_url(target: Target, limits: Limits | None) -> FileResult:
    """Scan a file that fsspec opens: copied (streamed) to a local temporary
    file first, so that every format is read as from a disk."""
    fsspec = _optional("fsspec")
    with tempfile.TemporaryDirectory(prefix="emulpickle-scan-") as tmp:
        local = os.path.join(tmp, "file")
        with fsspec.open(target.path, "rb") as src, open(local, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        result = scan_target(Target(local, os.path.getsize(local)), limits=limits)
    return result.replace(file=target.path)


def scan_one(target: Target, limits: Limits | None = None) -> FileResult:
    """Scan one target; anything that goes wrong is an unreadable result."""
    try:
        if target.path.startswith("file://"):
            local = Target(target.path[len("file://") :], target.size, target.shards)
            return scan_target(local, limits=limits).replace(file=target.path)
        if "://" in target.path:
            return _scan_url(target, limits)
        return scan_target(target, limits=limits)
    except Exception as exc:  # a worker reports, it never dies of one file
        return _unreadable(target.path, target.size, f"{type(exc).__name__}: {exc}")


def scan_batch(
    targets: list[Target], limits: Limits | None = None
) -> list[dict[str, Any]]:
    """Scan a task's targets in a worker; the results as JSON-ready dicts
    (only these travel back)."""
    return [scan_one(t, limits).to_dict() for t in targets]


def _excluded(path: str, root: str, exclude: Sequence[str]) -> bool:
    rel = path[len(root) :].lstrip("/")
    base = path.rsplit("/", 1)[-1]
    return any(fnmatchcase(rel, g) or fnmatchcase(base, g) for g in exclude)


def _discover_url(url: str, exclude: Sequence[str]) -> Iterator[Target | TargetError]:
    """The files at or under an fsspec URL."""
    try:
        fsspec = _optional("fsspec")
    except ImportError:
        yield TargetError(url, "a URL needs fsspec (pip install fsspec)")
        return
    try:
        fs, root = fsspec.core.url_to_fs(url)
        protocol = url.split("://", 1)[0]
        if fs.isdir(root):
            found = fs.find(root, detail=True)
            items = sorted(found.items())
        else:
            items = [(root, fs.info(root))]
    except Exception as exc:  # what a remote store raises is its own
        yield TargetError(url, f"cannot read: {type(exc).__name__}: {exc}")
        return
    for path, info in items:
        if info.get("type", "file") != "file" or _excluded(path, root, exclude):
            continue
        full = path if "://" in path else f"{protocol}://{path}"
        if protocol == "memory" and not path.startswith("/"):
            full = f"memory:///{path}"
        yield Target(full, int(info.get("size") or 0))


def _discover_all(
    paths: Iterable[str], exclude: Sequence[str], follow_symlinks: bool
) -> Iterator[Target | TargetError]:
    local: list[str] = []
    for path in paths:
        if "://" in path and not path.startswith("file://"):
            yield from discover(local, exclude=exclude, follow_symlinks=follow_symlinks)
            local = []
            yield from _discover_url(path, exclude)
        else:
            local.append(path[len("file://") :] if path.startswith("file://") else path)
    yield from discover(local, exclude=exclude, follow_symlinks=follow_symlinks)


def _local_pool(jobs: int) -> Executor:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork where the platform has it: spawn and forkserver re-run the
    # caller's __main__ in each worker, which a library call must not do
    # (a script without a main guard would scan again from every worker).
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context)


class ScanStream(Iterator[FileResult]):
    """The results of :func:`scan_paths`, as they complete.

    Once the first result is asked for, :attr:`total_files` and
    :attr:`total_bytes` say how much was found, :attr:`order` each path's
    place in the order found (to sort results, which come as they
    complete), and :attr:`cached` how many results the cache answered.
    """

    def __init__(self, run: Callable[[ScanStream], Iterator[FileResult]]) -> None:
        self.total_files = 0
        self.total_bytes = 0
        self.cached = 0
        self.order: dict[str, int] = {}
        self._results = run(self)

    def __next__(self) -> FileResult:
        return next(self._results)

    def __iter__(self) -> ScanStream:
        return self

    def close(self) -> None:
        """Stop: cancel what is not started, shut workers down."""
        close = getattr(self._results, "close", None)
        if close is not None:
            close()


def scan_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    executor: object = None,
    jobs: int | None = None,
    exclude: Sequence[str] = (),
    follow_symlinks: bool = False,
    policy: ScanPolicy | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    limits: Limits | None = None,
) -> ScanStream:
    """Scan every file under ``paths``; the results stream as they complete.

    Args:
        paths: files, directories (walked) and fsspec URLs (``s3://...``,
            ``memory://...``; workers open them through fsspec).
        executor: where to scan: None (``jobs`` worker processes, started
            only when something is not cached; in-process when ``jobs`` is
            1), a :class:`concurrent.futures.Executor`, or a
            ``distributed.Client``.
        jobs: worker processes when ``executor`` is None (default: all cores).
        exclude: globs of paths (relative to the root given) or base names
            to leave out.
        follow_symlinks: follow symlinks in directories (never out of the root).
        policy: a :class:`ScanPolicy` applied to each result.
        cache: use the result cache (see :mod:`emulpickle.scanner.resultcache`).
        cache_dir: where the cache lives (default: the user's cache directory).
        limits: the scanner's limits (default: :class:`~emulpickle.Limits`).

    Returns:
        A :class:`ScanStream` of :class:`FileResult`: each file's result,
        in completion order; a file or directory that cannot be read is a
        result of format ``"unreadable"`` with the reason in its errors.
    """
    names = [os.fspath(p) for p in paths]
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise ValueError(f"jobs must be at least 1, got {workers}")

    def run(stream: ScanStream) -> Iterator[FileResult]:
        from .resultcache import ResultCache, scanner_version

        store = ResultCache(cache_dir, scanner_version(limits)) if cache else None
        try:
            yield from _run(
                stream,
                names,
                store,
                workers,
                executor,
                exclude,
                follow_symlinks,
                policy,
                limits,
            )
        finally:
            if store is not None:
                store.close()

    return ScanStream(run)


def _run(
    stream: ScanStream,
    names: list[str],
    store: Any,
    workers: int,
    executor: object,
    exclude: Sequence[str],
    follow_symlinks: bool,
    policy: ScanPolicy | None,
    limits: Limits | None,
) -> Iterator[FileResult]:
    def finish(result: FileResult) -> FileResult:
        return policy.apply(result) if policy is not None else result

    found = list(_discover_all(names, exclude, follow_symlinks))
    stream.total_files = len(found)
    stream.total_bytes = sum(t.size for t in found if isinstance(t, Target))
    stream.order = {item.path: i for i, item in enumerate(found)}
    todo: list[Target] = []
    states: dict[str, tuple[Target, str | None, int]] = {}
    for item in found:
        if isinstance(item, TargetError):
            yield finish(_unreadable(item.path, 0, item.message))
            continue
        started = time.time_ns()
        state, hit = store.lookup(item) if store is not None else (None, None)
        if hit is not None:
            stream.cached += 1
            yield finish(hit)
            continue
        todo.append(item)
        states[item.path] = (item, state, started)

    def done(result: FileResult) -> FileResult:
        entry = states.get(result.file)
        if store is not None and entry is not None:
            store.store(entry[0], entry[1], entry[2], result)
        return finish(result)

    if not todo:
        return
    if executor is None and (workers == 1 or len(todo) == 1):
        # one file (or one job): starting a worker would only cost time
        for target in sorted(todo, key=lambda t: (-t.size, t.path)):
            yield done(scan_one(target, limits))
        return
    if executor is not None and is_dask_client(executor):
        yield from (done(r) for r in _on_dask(executor, todo, limits))
        return
    own = executor is None
    pool: Executor = (
        _local_pool(workers) if executor is None else _as_executor(executor)
    )
    try:
        tasks = partition(todo, getattr(pool, "_max_workers", workers))
        futures: list[Future[list[dict[str, Any]]]] = [
            pool.submit(scan_batch, task, limits) for task in tasks
        ]
        pending = dict(zip(futures, tasks, strict=True))
        for future in as_completed(futures):
            task = pending.pop(future)
            try:
                batch = [FileResult.from_dict(d) for d in future.result()]
            except Exception as exc:  # a worker died (killed, out of memory)
                why = f"worker failed: {type(exc).__name__}: {exc}"
                batch = [_unreadable(t.path, t.size, why) for t in task]
            for result in batch:
                yield done(result)
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)


def _as_executor(executor: object) -> Executor:
    if not isinstance(executor, Executor):
        raise TypeError(
            "executor must be a concurrent.futures.Executor or a distributed.Client, "
            f"not {type(executor).__name__}"
        )
    return executor


def _on_dask(
    client: Any, todo: list[Target], limits: Limits | None
) -> Iterator[FileResult]:
    """Scan on a Dask cluster: one task per batch, results as they complete."""
    dask_completed = _optional("distributed").as_completed
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    tasks = partition(todo, n_workers)
    futures = [
        client.submit(
            scan_batch,
            task,
            limits,
            pure=False,
            key=f"emulpickle-scan-{i}-{os.getpid()}-{time.time_ns()}",
        )
        for i, task in enumerate(tasks)
    ]
    pending = dict(zip((f.key for f in futures), tasks, strict=True))
    try:
        for future in dask_completed(futures):
            task = pending.pop(future.key)
            try:
                batch = [FileResult.from_dict(d) for d in future.result()]
            except Exception as exc:  # a worker lost, a task erred
                why = f"worker failed: {type(exc).__name__}: {exc}"
                batch = [_unreadable(t.path, t.size, why) for t in task]
            yield from batch
    finally:
        for future in futures:
            future.cancel()
