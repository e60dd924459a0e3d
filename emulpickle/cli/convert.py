"""``emulpickle convert``: a torch checkpoint's state dict to safetensors or .npz.

The work is done by the torch plugin's public
:func:`emulpickle_torch.convert_checkpoint` (needs numpy, never torch); this
module checks the arguments before anything is loaded, reports what the
conversion did, and turns its refusals into exit statuses: 2 for a usage
error (unknown output extension, missing directory, existing output), 1 for
a checkpoint that cannot be converted without loss.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import emulpickle

from .load import TORCH_KINDS, check_loadable, load_torch, map_file, sniff
from .output import PROG, CliError, human_bytes
from .plugins import require_torch

__all__ = ["PROGRESS_MIN", "convert", "run", "warn"]

#: Show a progress bar (on a terminal) when the data is at least this big.
PROGRESS_MIN = 64 << 20
#: How many names a warning lists before "and N more".
LISTED = 10


def warn(message: str) -> None:
    """Print ``emulpickle: warning: message`` on standard error."""
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _listing(pairs: Mapping[str, str], sep: str) -> str:
    shown = emulpickle.bounded_repr
    items = [
        f"{shown(k)}{sep}{shown(v) if sep == ' -> ' else v}" for k, v in pairs.items()
    ]
    more = len(items) - LISTED
    return ", ".join(items[:LISTED]) + (f" and {more} more" if more > 0 else "")


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A ``progress(done, total)`` drawing a bar on a terminal, when the data
    is big enough to wait for."""
    if not sys.stderr.isatty() or os.environ.get("NO_COLOR"):
        yield None
        return
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
    except ImportError:
        yield None
        return
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task: list[Any] = []

    def update(done: int, total: int) -> None:
        if total < PROGRESS_MIN:
            return
        if not task:
            bar.start()
            task.append(bar.add_task("writing", total=total))
        bar.update(task[0], completed=done)

    try:
        yield update
    finally:
        bar.stop()


def _check_target(target: str, force: bool) -> None:
    """Usage errors found before the checkpoint is read."""
    torch, _ = require_torch("convert")
    try:
        torch.output_format(target)
    except torch.ConversionError as exc:
        raise CliError(f"{target}: {exc}") from None
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise CliError(
            f"cannot write {target}: the directory {directory} does not exist"
        )
    if os.path.exists(target) and not force:
        raise CliError(f"{target} exists; use --force to overwrite it")


def _report(report: Any) -> None:
    """Warnings for everything that is not a plain one-to-one copy."""
    if report.found_at is not None:
        warn(f"using the state dict at {report.found_at!r}")
    if report.aliases:
        warn(
            f"{len(report.aliases)} tied tensors written once, aliases recorded in "
            f"the metadata: {_listing(report.aliases, ' -> ')}"
        )
    if report.copies:
        warn(
            f"{len(report.copies)} tensors view the storage of another in a "
            f"different way; each is written as its own copy: "
            f"{_listing(report.copies, ' shares with ')}"
        )
    if report.quantized:
        warn(
            f"{len(report.quantized)} quantized tensors written as integers plus "
            "<name>.scale / <name>.zero_point (see emulpickle.quantized in the "
            "metadata)"
        )
    if report.sparse:
        warn(f"{len(report.sparse)} sparse tensors written as their parts")
    if report.raw_dtypes:
        warn(
            f"{len(report.raw_dtypes)} tensors stored as raw bits (numpy has no "
            f"such dtype; see emulpickle.dtypes in the metadata): "
            f"{_listing(report.raw_dtypes, ': ')}"
        )
    if report.not_tensors:
        warn(
            f"{len(report.not_tensors)} entries are not tensors and are not "
            f"written: {_listing(report.not_tensors, ': ')}"
        )
    if report.skipped:
        warn(
            f"--skip-unsupported: {len(report.skipped)} tensors NOT written: "
            f"{_listing(report.skipped, ': ')}"
        )


def convert(
    source: str,
    target: str,
    *,
    key: str | None,
    metadata: dict[str, str],
    force: bool,
    skip_unsupported: bool = False,
) -> str:
    """Convert; prints warnings and returns a one-line summary."""
    _check_target(target, force)
    kind = sniff(source)
    check_loadable(source, kind)
    if kind not in (*TORCH_KINDS, "pickle"):
        raise CliError(f"{source}: not a torch checkpoint ({kind})")
    torch, _ = require_torch("convert")
    # Not memory-mapped: each storage is read when written, then forgotten.
    try:
        root = load_torch(source, kind, mmap=False)
    except emulpickle.UnpicklingError:
        if kind == "pickle" and _names_joblib(source):
            raise CliError(
                f"{source}: a joblib file, not a torch checkpoint (convert "
                "writes a checkpoint's tensors; show and json read joblib files)"
            ) from None
        raise
    with _progress() as progress:
        try:
            report = torch.convert_checkpoint(
                root,
                target,
                key=key,
                metadata=metadata,
                overwrite=force,
                skip_unsupported=skip_unsupported,
                progress=progress,
            )
        except torch.ConversionError as exc:
            if exc.unsupported:
                more = "; --skip-unsupported writes the others" if exc.partial else ""
                raise CliError(f"{exc}{more}", 1) from None
            if key is not None:
                raise CliError(f"--key {key!r}: {exc}", 1) from None
            hint = ""
            if exc.candidates:
                hint = f"; try --key with one of {', '.join(exc.candidates)}"
            elif not isinstance(root, dict):
                hint = "; use --key to pick one"
            raise CliError(f"{exc}{hint}", 1) from None
    _report(report)
    return (
        f"wrote {len(report.written)} tensors ({human_bytes(report.nbytes)}) "
        f"to {target}"
    )


def _names_joblib(source: str) -> bool:
    """Whether the pickle at ``source`` names joblib's array wrapper (asked
    only after it failed to load as a checkpoint)."""
    try:
        data = map_file(source)
    except OSError:
        return False
    return bool(data.find(b"joblib.numpy_pickle") >= 0)


def _metadata(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--metadata expects KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``emulpickle convert`` (see :func:`emulpickle.cli.parser.build_parser`)."""
    summary = convert(
        args.source,
        args.target,
        key=args.key,
        metadata=_metadata(args.metadata or []),
        force=args.force,
        skip_unsupported=args.skip_unsupported,
    )
    print(summary, file=sys.stderr)
    return 0
