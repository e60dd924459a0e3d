"""Every reading of one input a loader can make, and :func:`scan`, which makes them.

Loaders pick their reading of a file by its first bytes (``torch.load``: a
zip local header at offset 0, else a tar there, else a pickle;
``numpy.load``, ``joblib.load``: their magic numbers, else a pickle), while
``zipfile`` finds a zip by the end record at the end of the file and
``tarfile`` needs no magic at all. A file one loader reads one way and
another loader another (a pickle with a zip behind it, a tar whose first
header is a pickle) is scanned every way.
"""

from __future__ import annotations

import os
from typing import Any

from ..formats import FormatError
from ..formats.magic import HEAD_SIZE, sniff
from ..formats.magic import joblib_compression as compression
from ..registry import Registry
from . import layout
from .collector import Collector
from .containers import (
    NPY_MAGIC,
    scan_7z,
    scan_compressed,
    scan_npy,
    scan_tar,
    scan_zips,
)
from .policy import scan_registry
from .report import ScanReport
from .streams import LEADING, STRICT, scan_stream

__all__ = ["scan", "scan_input"]


def scan_input(ctx: Collector, data: Any) -> None:
    """Every reading of ``data`` a loader can make.

    First the one its first bytes decide, as loaders decide (``.npy``; zip;
    7z, zstd and safetensors, by their magic numbers; tar; a joblib
    compression; else a pickle), then the others: the pickle a pickle loader
    reads at offset 0 (``torch.load`` of anything that does not start as a
    zip, ``pickle.load``, ``joblib.load``), every zip found by its end
    record (``zipfile``, wherever the archive starts), and a tar at offset 0
    (``tarfile``, which needs no magic).
    """
    if len(data) == 0:
        ctx.error("empty input")
        return
    head = bytes(data[:HEAD_SIZE])
    kind = compression(head)
    sniffed = sniff(head, len(data))
    is_zip = head[:4] in (b"PK\x03\x04", b"PK\x05\x06")
    is_tar = len(data) >= 512 and data[257:262] == b"ustar"
    zipped = not is_zip and bool(layout.zip_ends(data)[0])
    own = sniffed in ("7z", "zstd", "safetensors")  # read by their own readers
    if head[:6] == NPY_MAGIC:
        scan_npy(ctx, data, 0, len(data), "npy payload")
    elif is_zip:
        scan_zips(ctx, data, "", 0, True)
    elif sniffed == "7z":
        scan_7z(ctx, data, "", 0)
    elif sniffed == "zstd":
        scan_compressed(ctx, data, "zstd")
    elif sniffed == "safetensors":
        _check_safetensors(ctx, data)
    elif is_tar:
        scan_tar(ctx, data, "", 0)
    elif kind is not None:
        scan_compressed(ctx, data, kind)
    else:
        scan_stream(ctx, data, 0, len(data), "", STRICT, before_zip=zipped)
    if not is_zip:
        # A pickle loader fails at once on a zip's first bytes (PERSID).
        if kind is not None or is_tar or own or head[:6] == NPY_MAGIC:
            scan_stream(ctx, data, 0, len(data), "", LEADING, before_zip=zipped)
        if zipped:
            scan_zips(ctx, data, "", 0, False)
    if not is_tar and len(data) >= 512:
        scan_tar(ctx, data, "", 0, required=False)


def _check_safetensors(ctx: Collector, data: Any) -> None:
    """A safetensors file holds no pickle: its header is checked as the
    safetensors library checks it (a bad one is an error)."""
    # Imported here: the module imports attrs (for its writer), which
    # ``import emulpickle`` does not.
    from ..formats import safetensors

    try:
        safetensors.check_file(data)
    except FormatError as exc:
        ctx.error(str(exc))


def scan(
    source: str | os.PathLike[str] | bytes, *, registry: Registry | None = None
) -> ScanReport:
    """Scan a pickle file, or pickle bytes, without loading it.

    Args:
        source: a path, or the bytes of a file (pickle, torch checkpoint,
            zip, ``.npy``, ``.npz``, or a joblib file, compressed or not).
        registry: what counts as safe; default: the default registry plus
            the installed first-party plugins (numpy, torch).

    Returns:
        A :class:`ScanReport`. Unreadable files are reported in its
        ``errors``, never raised.
    """
    ctx = Collector(registry if registry is not None else scan_registry())
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = "<bytes>"
        scan_input(ctx, bytes(source))
        return ScanReport(label, ctx.findings(), ctx.errors)
    label = os.fsdecode(source)
    try:
        with open(source, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                scan_input(ctx, b"")
            else:
                import mmap

                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                    scan_input(ctx, mapped)
    except (OSError, ValueError) as exc:
        ctx.error(f"cannot read {label}: {exc}")
    return ScanReport(label, ctx.findings(), ctx.errors)
