"""The sibling files an old joblib file (joblib < 0.10) makes ``joblib.load`` read.

Before 0.10, ``joblib.dump`` kept each array in a file beside the pickle and
pickled an ``NDArrayWrapper`` naming it; ``joblib.load`` (which still reads
such files) opens whatever name the wrapper gives, relative to the pickle's
directory, with ``numpy.load(allow_pickle=True)``: an object array's pickle,
or a file that is no ``.npy`` at all, is unpickled then. So when a file
names the wrapper, :func:`scan_siblings` scans every file the pickle's
strings name that exists (as a whole input: a ``.npy``, a pickle...;
not a ``ZNDArrayWrapper``'s ``.z`` file of raw array bytes, which nothing
unpickles), and reports a name that leaves the directory, which
``joblib.load`` would follow.
"""

from __future__ import annotations

import mmap
import os
import pickletools
from typing import Any

from .._render import bounded_repr
from ..formats import FormatError
from ..formats.compressed import decompress
from .collector import Collector

__all__ = ["MAX_SIBLINGS", "scan_siblings"]

#: How many sibling files one file's scan reads at most.
MAX_SIBLINGS = 1000
_MODULE = "joblib.numpy_pickle"
_WRAPPERS = ("NDArrayWrapper", "ZNDArrayWrapper")


def _strings(stream: Any) -> list[str]:
    """Every string constant in the pickle ``stream`` (bytes or a map; up
    to where it breaks), in order, once each."""
    import io

    source = io.BytesIO(stream) if isinstance(stream, (bytes, bytearray)) else stream
    source.seek(0)
    seen: dict[str, None] = {}
    try:
        for _op, arg, _pos in pickletools.genops(source):
            if isinstance(arg, str) and len(arg) < 4096:
                seen.setdefault(arg, None)
    except Exception:  # a broken stream (any of genops' errors): the strings so far
        pass
    return list(seen)


def scan_siblings(ctx: Collector, path: str, data: Any, scan_one: Any) -> None:
    """Scan the files an old joblib pickle in ``data`` (read from ``path``)
    names, with ``scan_one(ctx, data)`` (the scan of a whole input), when
    the scan so far found an old wrapper global."""
    if not any(
        module == _MODULE and name in _WRAPPERS for module, name, _ in ctx.cache
    ):
        return
    stream: Any = data
    if data[:2] == b"ZF":
        try:
            stream = decompress(data, "compat", ctx.inflate_limit(len(data)))
        except FormatError:
            return  # the main scan reported it
    directory = os.path.dirname(os.path.abspath(path))
    done = 0
    for name in _strings(stream):
        target = os.path.join(directory, name)
        try:
            if not os.path.isfile(target) or os.path.samefile(target, path):
                continue
        except (OSError, ValueError):
            continue
        label = f"array file {bounded_repr(name)}"
        if os.path.dirname(os.path.normpath(name)) or os.path.isabs(name):
            ctx.error(
                f"{label}: an old joblib array wrapper names a file outside "
                "the pickle's directory, which joblib.load would read"
            )
        if done >= MAX_SIBLINGS:
            ctx.error(f"more than {MAX_SIBLINGS} array files: the rest not scanned")
            return
        done += 1
        before = len(ctx.errors)
        try:
            with open(target, "rb") as f:
                if os.fstat(f.fileno()).st_size == 0:
                    scan_one(ctx, b"")
                    continue
                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                    # A ZNDArrayWrapper's raw array bytes in joblib's zlib
                    # file: nothing unpickles them (and numpy.load cannot
                    # read "ZF" as a pickle either).
                    if mapped[:2] != b"ZF":
                        scan_one(ctx, mapped)
        except (OSError, ValueError) as exc:
            ctx.error(f"{label}: cannot read it ({exc})")
        for i in range(before, len(ctx.errors)):
            ctx.errors[i] = f"{label}: {ctx.errors[i]}"
