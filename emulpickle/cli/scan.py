"""``emulpickle scan``: which globals files name, against an allowlist.

Each file under the paths given is scanned, not loaded
(:func:`emulpickle.scan_paths`), on worker processes (``--jobs``) or a Dask
cluster (``--dask``), with the result cache and a policy file. Output: text
(dangerous findings first, then a summary table), ``--json`` (one document),
``--jsonl`` (one object per file as results arrive) or ``--sarif``. Exit
status 0 when every file is clean, 1 when something is not (or fails the
policy), 2 when a file cannot be read (the others are still scanned) or for
a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from typing import Any

from emulpickle.scanner.filescan import FileResult
from emulpickle.scanner.policyfile import PolicyError, ScanPolicy

from .inputs import display_name, is_stdin, stdin_bytes
from .jsonwrite import dump
from .output import PROG, CliError, print_error
from .scanview import Progress, summary_table

__all__ = ["run"]

_ORDER = {"dangerous": 0, "unknown": 1, "safe": 2}
#: ``emulpickle[dask]`` as the brief of #18 names it, and what works from a
#: clone (emulpickle is not on an index) or anywhere.
_DASK_INSTALL = (
    'pip install "emulpickle[dask]" (from a clone: pip install ".[dask]"; '
    'or pip install "distributed>=2024.1")'
)


def _stdin_result() -> FileResult:
    """Standard input, scanned here (from a temporary file, so that every
    format is recognised as in a file)."""
    from emulpickle.scanner.engine import scan_one
    from emulpickle.scanner.targets import Target

    data = stdin_bytes()
    with tempfile.TemporaryDirectory(prefix="emulpickle-stdin-") as tmp:
        path = os.path.join(tmp, "stdin")
        with open(path, "wb") as f:
            f.write(data)
        return scan_one(Target(path, len(data))).replace(file="-")


def _dask_client(address: str) -> Any:
    import importlib

    try:
        client = importlib.import_module("distributed").Client
    except ImportError:
        raise CliError(f"--dask needs distributed: {_DASK_INSTALL}") from None
    try:
        return client(address, timeout="30s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise CliError(f"cannot reach the Dask scheduler {address}: {exc}") from None


def _print_text(result: FileResult, show_all: bool) -> None:
    verdict = "clean" if result.clean else "NOT CLEAN"
    print(f"{display_name(result.file)}: {verdict}")
    findings = sorted(result.findings, key=lambda f: _ORDER.get(f.verdict, 1))
    for f in findings:
        if f.verdict == "safe" and not show_all:
            continue
        where = f" in {f.where}" if f.where else ""
        note = f" - {f.note}" if f.note else ""
        print(
            f"  {f.verdict:<9} {f.target} ({f.via} at offset {f.offset}{where}){note}"
        )
    safe = sum(1 for f in findings if f.verdict == "safe")
    if safe and not show_all:
        print(f"  ({safe} safe global{'s' if safe != 1 else ''} not listed)")
    for message in result.errors:
        print(f"  error: {message}")


def _as_dict(result: FileResult) -> dict[str, Any]:
    doc = result.to_dict()
    if result.format == "unreadable":
        doc["error"] = "; ".join(result.errors)
    return doc


def run(args: argparse.Namespace) -> int:
    """Run ``emulpickle scan`` (see :func:`emulpickle.cli.parser.build_parser`)."""
    outputs = [name for name in ("json", "jsonl", "sarif") if getattr(args, name)]
    if len(outputs) > 1:
        raise CliError(f"--{outputs[0]} and --{outputs[1]} cannot be combined")
    try:
        policy = ScanPolicy.load(args.policy) if args.policy else None
    except PolicyError as exc:
        raise CliError(f"--policy: {exc}") from None
    judge = policy if policy is not None else ScanPolicy()
    client = _dask_client(args.dask) if args.dask else None
    text = not outputs
    progress = (
        Progress() if sys.stderr.isatty() and (text or sys.stdout.isatty()) else None
    )
    started = time.monotonic()
    results: list[FileResult] = []
    order: dict[str, int] = {}
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            cached = _each(args, policy, client, progress, order, results)
    finally:
        if progress is not None:
            progress.clear()
        if client is not None:
            client.close()
        _show_warnings(caught)
    status = 2 if any(r.format == "unreadable" for r in results) else 0
    if not status and any(judge.fails(r) for r in results):
        status = 1
    results.sort(key=lambda r: order.get(r.file, -1))
    if args.json:
        files = [_as_dict(r) for r in results]
        dump({"clean": status == 0, "files": files}, sys.stdout, indent=2)
    elif args.sarif:
        from emulpickle.scanner.sarif import sarif_document

        dump(sarif_document(results), sys.stdout, indent=2)
    elif text:
        print()
        for line in summary_table(results, time.monotonic() - started, cached):
            print(line)
    return status


def _each(
    args: argparse.Namespace,
    policy: ScanPolicy | None,
    client: Any,
    progress: Progress | None,
    order: dict[str, int],
    results: list[FileResult],
) -> int:
    """Show each result as it arrives (and keep it in ``results``); how
    many came from the cache."""
    cached = 0
    text = not (args.json or args.jsonl or args.sarif)
    for result in _results(args, policy, client, progress, order):
        if isinstance(result, int):
            cached = result
            continue
        results.append(result)
        if progress is not None:
            progress.clear()
        if result.format == "unreadable":
            print_error(f"{display_name(result.file)}: {'; '.join(result.errors)}")
        if args.jsonl:
            print(json.dumps(_as_dict(result)), flush=True)
        elif text and result.format != "unreadable":
            _print_text(result, args.all)
        if progress is not None:
            progress.add(result)
    return cached


def _show_warnings(caught: list[warnings.WarningMessage]) -> None:
    """The cache's warnings as ``emulpickle: warning: ...``; others as usual."""
    from emulpickle.scanner.resultcache import CacheWarning

    for w in caught:
        if issubclass(w.category, CacheWarning):
            text = str(w.message).removeprefix(f"{PROG}: ")
            print(f"{PROG}: warning: {text}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _results(
    args: argparse.Namespace,
    policy: ScanPolicy | None,
    client: Any,
    progress: Progress | None,
    order: dict[str, int],
) -> Iterator[FileResult | int]:
    """Each file's result as it completes (stdin first); last, how many
    came from the cache."""
    from emulpickle.scanner.engine import scan_paths

    paths = [p for p in args.files if not is_stdin(p)]
    if len(paths) < len(args.files):
        order["-"] = -1
        result = _stdin_result()
        yield policy.apply(result) if policy is not None else result
    if not paths:
        return
    stream = scan_paths(
        paths,
        executor=client,
        jobs=args.jobs,
        exclude=args.exclude,
        follow_symlinks=args.follow_symlinks,
        policy=policy,
        cache=not args.no_cache,
        cache_dir=args.cache_dir,
    )
    try:
        for number, result in enumerate(stream):
            if not number:
                order.update(stream.order)
                if progress is not None:
                    progress.total_files = (
                        stream.total_files + len(order) - len(stream.order)
                    )
                    progress.total_bytes = stream.total_bytes
            yield result
    finally:
        stream.close()
    yield stream.cached
