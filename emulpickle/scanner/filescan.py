"""Scanning one :class:`~.targets.Target` of a tree: a :class:`FileResult`.

A file is read once: mapped into memory, hashed (SHA-256) a piece at a
time, then scanned in place with every reading a loader can make
(:func:`~.readings.scan_input`). What it is comes from its content, never
its name (:func:`emulpickle.formats.magic.sniff`, then the members of a zip
or tar, and what a compressed file decompressed to) and is reported as
:attr:`FileResult.format`.

A file that holds no pickle at all — text, JSON, an image, a GGUF model,
any binary data whose first bytes no loader reads as a pickle — is clean,
with the format :func:`emulpickle.files.identify.not_a_pickle` names
(``"not-a-pickle"`` when it names none): a pickle loader fails on its first
bytes before it can name, let alone call, anything, and every other
reading (a zip found by its end record, a tar) was made and found nothing.
A hub wants to hear about pickles; a warning on every README would drown
them. A file whose pickle breaks later (past its first 64 bytes, or after
naming a global) is a damaged pickle: unclean, with its error.

Nothing a file's bytes or the filesystem can do raises: unreadable,
vanished, special or truncated files give a result with errors.
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import Any

from .._frozen import FrozenValue
from ..errors import UnpicklingError
from ..files.identify import not_a_pickle
from ..formats import FormatError, SliceSource
from ..formats import tar as tar_format
from ..formats import zip as zip_format
from ..formats.filestate import sha256_of_fd
from ..formats.magic import HEAD_SIZE, joblib_compression, sniff
from ..limits import DEFAULT_LIMITS, Limits
from ..registry import Registry
from .collector import Collector
from .policy import scan_registry
from .readings import scan_input
from .report import Finding
from .targets import Target

__all__ = ["NOT_A_PICKLE", "FileResult", "scan_target"]

#: The format of a file that holds no pickle and is of no kind named.
NOT_A_PICKLE = "not-a-pickle"
_COMPRESSED = ("gzip", "bz2", "xz", "lzma", "zlib", "zstd", "lz4")


class FileResult(FrozenValue):
    """What scanning one target found.

    Picklable and JSON round-trippable (:meth:`to_dict`, :meth:`from_dict`),
    so it crosses processes, Dask and a result cache.

    Attributes:
        file: the target's path.
        format: what the file is, by content: ``"pickle"``, ``"joblib"``,
            ``"torch-zip"``, ``"torch-legacy"``, ``"torch-tar"``,
            ``"torchscript"``, ``"npy"``, ``"npz"``, ``"zip"``, ``"tar"``,
            ``"7z"``, ``"safetensors"``, ``"<compression>+<inner>"``
            (``"gzip+pickle"``, ``"zlib+joblib"``, ``"gzip+tar"``...),
            ``"sharded-checkpoint"``, ``"empty"``, a kind of file that holds
            no pickle (``"text"``, ``"json"``, ``"png"``...,
            :data:`NOT_A_PICKLE` when unnamed), or ``"unreadable"``.
        size: its size in bytes.
        sha256: its SHA-256 (hex); None when not asked for or not readable.
            A sharded checkpoint's is the SHA-256 of ``sha256sum``-style
            lines (``"<hex>  <name>\\n"``) for its index and each shard.
        findings: every global reached, with its verdict.
        errors: what could not be read (each makes the result unclean).
    """

    _fields = ("file", "format", "size", "sha256", "findings", "errors")
    __slots__ = _fields
    file: str
    format: str
    size: int
    sha256: str | None
    findings: list[Finding]
    errors: list[str]

    def __init__(
        self,
        file: str,
        format: str,
        size: int,
        sha256: str | None = None,
        findings: list[Finding] | None = None,
        errors: list[str] | None = None,
    ) -> None:
        self._set("file", file)
        self._set("format", format)
        self._set("size", size)
        self._set("sha256", sha256)
        self._set("findings", [] if findings is None else findings)
        self._set("errors", [] if errors is None else errors)

    @property
    def clean(self) -> bool:
        """True only when every finding is safe and nothing broke."""
        return not self.errors and all(f.verdict == "safe" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: file, clean, findings, errors, sha256, format, size."""
        return {
            "file": self.file,
            "clean": self.clean,
            "findings": [f.to_dict() for f in self.findings],
            "errors": list(self.errors),
            "sha256": self.sha256,
            "format": self.format,
            "size": self.size,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileResult:
        """The result :meth:`to_dict` made ``d`` from (``clean`` is derived)."""
        return cls(
            d["file"],
            d["format"],
            d["size"],
            d.get("sha256"),
            [Finding(**f) for f in d.get("findings", [])],
            list(d.get("errors", [])),
        )


def scan_target(
    target: Target,
    *,
    registry: Registry | None = None,
    limits: Limits | None = None,
    want_sha256: bool = True,
) -> FileResult:
    """Scan one target (a file, or a sharded checkpoint as one model).

    Args:
        target: what :func:`~.targets.discover` found.
        registry: what counts as safe; default: the default registry plus
            the installed first-party plugins.
        limits: the bounds on archives and inflation (default ``Limits()``).
        want_sha256: compute the file's SHA-256 while reading it.

    Never raises for anything a file's bytes or the filesystem cause.
    """
    registry = registry if registry is not None else scan_registry()
    limits = limits if limits is not None else DEFAULT_LIMITS
    if target.shards:
        return _scan_sharded(target, registry, limits, want_sha256)
    return _scan_file(target.path, registry, limits, want_sha256)


def _scan_file(
    path: str, registry: Registry, limits: Limits, want_sha256: bool
) -> FileResult:
    """One file: read, hash, scan, name its format."""
    ctx = Collector(registry, limits)
    size = 0
    try:
        # O_NONBLOCK: a path that became a fifo since it was found must not
        # hang the open; it is refused below as not a regular file.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return FileResult(path, "unreadable", 0, None, [], [_os_error(path, exc)])
    try:
        st = os.fstat(fd)
        size = st.st_size
        if not stat.S_ISREG(st.st_mode):
            why = f"{path}: not a regular file: not scanned"
            return FileResult(path, "unreadable", size, None, [], [why])
        if size == 0:
            sha = hashlib.sha256().hexdigest() if want_sha256 else None
            return FileResult(path, "empty", 0, sha)
        import mmap

        with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as data:
            sha = sha256_of_fd(fd) if want_sha256 else None
            head = bytes(data[:HEAD_SIZE])
            scan_input(ctx, data)
            fmt = _format(ctx, data, head)
    except (OSError, ValueError) as exc:
        ctx.error(_os_error(path, exc))
        return FileResult(path, "unreadable", size, None, ctx.findings(), ctx.errors)
    finally:
        os.close(fd)
    findings = ctx.findings()
    errors = ctx.errors
    other = _no_pickle(ctx, findings, head)
    if other is not None:
        fmt, errors = other, []
    return FileResult(path, fmt, size, sha, findings, errors)


def _scan_sharded(
    target: Target, registry: Registry, limits: Limits, want_sha256: bool
) -> FileResult:
    """A sharded checkpoint: every shard scanned, as one model's result.

    Each finding's ``where`` starts with its shard's name, each error too;
    a missing shard is an error. The SHA-256 covers the index and every
    shard (see :attr:`FileResult.sha256`).
    """
    findings: list[Finding] = []
    errors: list[str] = []
    lines: list[str] = []
    size = 0
    index = _scan_file(target.path, registry, limits, want_sha256)
    findings.extend(index.findings)
    errors.extend(index.errors)
    lines.append(f"{index.sha256}  {os.path.basename(target.path)}\n")
    for shard in target.shards:
        name = os.path.basename(shard)
        if not os.path.lexists(shard):
            errors.append(f"{name}: a missing shard (named by the index)")
            lines.append(f"{None}  {name}\n")
            continue
        result = _scan_file(shard, registry, limits, want_sha256)
        size += result.size
        lines.append(f"{result.sha256}  {name}\n")
        findings.extend(f.replace(where=f"{name}/{f.where}") for f in result.findings)
        errors.extend(f"{name}: {error}" for error in result.errors)
    sha = None
    if want_sha256:
        listing = "".join(lines).encode("utf-8", "surrogateescape")
        sha = hashlib.sha256(listing).hexdigest()
    return FileResult(target.path, "sharded-checkpoint", size, sha, findings, errors)


def _os_error(path: str, exc: BaseException) -> str:
    """What the filesystem said, without a traceback."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot read {path}: {exc.strerror}"
    return f"cannot read {path}: {exc}"


def _no_pickle(ctx: Collector, findings: list[Finding], head: bytes) -> str | None:
    """The format of a file that holds no pickle at all, or None.

    Only when the one error is the input's own first reading failing on its
    first bytes (:attr:`Collector.unparsed`) and nothing was found: then no
    loader reads anything from it (see the module's docstring).
    """
    if findings or not ctx.unparsed or ctx.errors != [ctx.unparsed]:
        return None
    error = UnpicklingError(ctx.unparsed, offset=max(0, ctx.unparsed_at))
    what = not_a_pickle(head, error)
    if what is None:
        return None  # a damaged pickle
    kind = str(what.format or "")
    if kind == "text" and head.lstrip()[:1] in (b"{", b"["):
        return "json"
    return NOT_A_PICKLE if kind in ("", "unknown") else kind


def _format(ctx: Collector, data: Any, head: bytes) -> str:
    """What the file is, by content."""
    kind = sniff(head, len(data))
    joblib = any((f.module or "").split(".")[0] == "joblib" for f in ctx.findings())
    if kind == "zip":
        return _zip_format(data, ctx.limits)
    if kind == "tar":
        return _tar_format(data, ctx.limits)
    if kind == "joblib":  # joblib before 0.10
        return "joblib"
    if kind in _COMPRESSED or joblib_compression(head) is not None:
        inner = ctx.inner or "pickle"
        if inner == "pickle" and joblib:
            inner = "joblib"
        return f"{kind}+{inner}"
    if kind == "pickle" and joblib:
        return "joblib"
    return kind


def _zip_format(data: Any, limits: Limits) -> str:
    """torchscript, torch-zip, npz or zip, by the members' names."""
    try:
        names = zip_format.ZipArchive(
            SliceSource(data), max_members=limits.max_archive_members
        ).names()
    except (FormatError, UnpicklingError, ValueError):
        return "zip"
    parts = [name.split("/") for name in names]
    # torch.jit.save: <archive>/constants.pkl and <archive>/code/...
    if any(len(p) >= 2 and (p[1] == "constants.pkl" or p[1] == "code") for p in parts):
        return "torchscript"
    if any(len(p) == 2 and p[1] == "data.pkl" for p in parts):
        return "torch-zip"
    if names and all(name.endswith(".npy") for name in names):
        return "npz"
    return "zip"


def _tar_format(data: Any, limits: Limits) -> str:
    """torch-tar (the oldest torch.save format) or tar."""
    try:
        members = tar_format.read_members(
            SliceSource(data), max_members=limits.max_archive_members
        )
    except (FormatError, UnpicklingError, ValueError):
        return "tar"
    return "torch-tar" if {"pickle", "storages", "tensors"} <= set(members) else "tar"
