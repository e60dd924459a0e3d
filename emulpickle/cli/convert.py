"""``emulpickle convert``: a torch checkpoint's state dict to safetensors.

Needs emulpickle-torch and numpy, never torch. Tensors are written one at a
time, in chunks of at most :data:`CHUNK` bytes, so memory use stays flat.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import emulpickle
from emulpickle.formats.safetensors import DTYPE_SIZES, Entry, write_file

from .load import TORCH_KINDS, check_loadable, load_torch, sniff
from .output import PROG, CliError
from .plugins import require_torch

__all__ = ["CHUNK", "convert", "run"]

#: Most bytes materialised at once while writing a tensor.
CHUNK = 16 << 20
#: Show a progress bar (on a terminal) when the data is at least this big.
PROGRESS_MIN = 64 << 20


def _name(key: object) -> str:
    """A tensor name; str() of anything else could be huge."""
    if not isinstance(key, str):
        raise CliError(f"tensor key {emulpickle.bounded_repr(key)} is not a string", 1)
    return key


def _pick(root: object, key: str | None, support: Any) -> dict[str, Any]:
    """The state dict to write (see ``emulpickle_torch.cli_support``)."""
    try:
        picked = support.pick_state_dict(root, key)
    except support.StateDictError as exc:
        if key is not None:
            raise CliError(f"--key {key!r}: {exc}", 1) from None
        if exc.candidates:
            hint = f"; try --key with one of {', '.join(exc.candidates)}"
        elif isinstance(root, dict):
            hint = ""
        else:
            hint = "; use --key to pick one"
        raise CliError(f"{exc}{hint}", 1) from None
    if picked.skipped:
        warn(f"skipping {picked.skipped} non-tensor entries")
    if picked.found_at is not None:
        warn(f"using the state dict at {picked.found_at!r}")
    return picked.tensors  # type: ignore[no-any-return]


def warn(message: str) -> None:
    """Print ``emulpickle: warning: message`` on standard error."""
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _chunks(tensor: Any) -> Callable[[], Iterator[Any]]:
    def generate() -> Iterator[Any]:
        try:
            yield from _tensor_chunks(tensor.numpy())
        finally:
            storage = getattr(tensor, "storage", None)
            if storage is not None and hasattr(storage, "release"):
                storage.release()

    return generate


def _tensor_chunks(array: Any) -> Iterator[Any]:
    """The C-order bytes of ``array``, at most ``CHUNK`` at a time."""
    import numpy as np

    if sys.byteorder == "big":  # pragma: no cover - safetensors is LE
        array = array.byteswap()
    if array.size == 0:
        return
    if array.flags.c_contiguous:
        flat = array.reshape(-1).view(np.uint8)
        for start in range(0, flat.size, CHUNK):
            yield flat[start : start + CHUNK].data
        return
    # A strided view: materialise a block of leading rows at a time.
    if array.ndim == 0:  # pragma: no cover - 0-d arrays are contiguous
        yield np.ascontiguousarray(array).view(np.uint8).data
        return
    row = max(1, array[0].nbytes)
    step = max(1, CHUNK // row)
    for start in range(0, array.shape[0], step):
        block = np.ascontiguousarray(array[start : start + step])
        yield block.reshape(-1).view(np.uint8).data


def _entries(state: dict[str, Any], dtypes: Mapping[str, str]) -> list[Entry]:
    limit = emulpickle.Limits().max_emulator_alloc
    shown = emulpickle.bounded_repr
    entries = []
    for name, tensor in state.items():
        name = _name(name)
        where = f"tensor {shown(name)}"
        if tensor.quantization is not None:
            raise CliError(f"{where} is quantized; safetensors cannot hold it", 1)
        if tensor.storage is None:
            raise CliError(f"{where} has no data (device {shown(tensor.device)})", 1)
        dtype = dtypes.get(tensor.dtype)
        if dtype is None:
            raise CliError(f"{where}: safetensors has no dtype for {tensor.dtype}", 1)
        if tensor.nbytes > max(tensor.storage.nbytes, limit):
            raise CliError(
                f"{where} would expand {tensor.storage.nbytes} stored bytes to "
                f"{tensor.nbytes}",
                1,
            )
        entries.append(Entry(name, dtype, tuple(tensor.shape), _chunks(tensor)))
    # Larger elements first keeps every tensor aligned to its element size.
    entries.sort(key=lambda e: (-_itemsize(e.dtype), e.name))
    return entries


def _itemsize(dtype: str) -> int:
    return DTYPE_SIZES[dtype]


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None] | None]:
    if total < PROGRESS_MIN or not sys.stderr.isatty() or os.environ.get("NO_COLOR"):
        yield None
        return
    try:
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
    from rich.console import Console

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("writing", total=total)
        yield lambda n: bar.advance(task, n)


def convert(
    source: str,
    target: str,
    *,
    key: str | None,
    metadata: dict[str, str],
    force: bool,
) -> str:
    """Convert; returns a one-line summary."""
    if os.path.exists(target) and not force:
        raise CliError(f"{target} exists; use --force to overwrite it")
    kind = sniff(source)
    check_loadable(source, kind)
    if kind not in (*TORCH_KINDS, "pickle"):
        raise CliError(f"{source}: not a torch checkpoint ({kind})")
    _, support = require_torch("convert")
    # Read each storage when it is written, then forget it (see _chunks):
    # with a memory map, every page read would stay in the RSS.
    root = load_torch(source, kind, mmap=False)
    state = _pick(root, key, support)
    entries = _entries(state, support.SAFETENSORS_DTYPES)
    meta = {"format": "pt", **metadata}
    total = sum(entry.nbytes for entry in entries)
    directory = os.path.dirname(os.path.abspath(target))
    fd, temp = tempfile.mkstemp(
        prefix=".emulpickle-", suffix=".safetensors.tmp", dir=directory
    )
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as out, _progress(total) as progress:
            size = write_file(out, entries, meta, progress)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return f"wrote {len(entries)} tensors ({size} bytes) to {target}"


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
    )
    print(summary, file=sys.stderr)
    return 0
