"""How the ``emulpickle`` command recognises and loads a file.

Nothing here imports or runs anything a file names: pickles are loaded by
emulpickle (unknown globals become generic placeholders), torch checkpoints by
the ``emulpickle-torch`` plugin and ``.npy`` headers are parsed as literals.
"""

from __future__ import annotations

import ast
import mmap
import os
import struct
from typing import Any

import attrs

import emulpickle

from ..formats import FormatError
from ..formats.zip import ZipArchive, ZipMember

__all__ = [
    "CliError",
    "Loaded",
    "NpyHeader",
    "installed_plugin_names",
    "load_file",
    "read_zip_pickle",
    "zip_pickle",
    "zip_pickle_name",
]

#: The first pickle of a legacy torch.save file is this int (LONG1, 10 bytes).
_TORCH_MAGIC = b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
#: numpy itself refuses longer headers by default; this is looser.
_MAX_NPY_HEADER = 1 << 20


class CliError(Exception):
    """A problem reported as ``emulpickle: error: ...`` with an exit status."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


@attrs.frozen
class NpyHeader:
    """The header of a ``.npy`` file.

    Attributes:
        descr: the dtype description as written (a str or a list of fields).
        fortran_order: whether the data is in Fortran order.
        shape: the array's shape.
        version: the format version, e.g. ``(1, 0)``.
        data_offset: where the data (or the pickle of an object array) starts.
    """

    descr: object
    fortran_order: bool
    shape: tuple[int, ...]
    version: tuple[int, int]
    data_offset: int

    @property
    def has_objects(self) -> bool:
        """Whether the array holds Python objects (stored as a pickle)."""
        return "O" in repr(self.descr)


@attrs.frozen
class Loaded:
    """A loaded file.

    Attributes:
        kind: ``"torch-zip"``, ``"torch-legacy"``, ``"torch-tar"``, ``"npy"``
            or ``"pickle"``.
        obj: the loaded object tree.
        npy: the header, for ``.npy`` files.
    """

    kind: str
    obj: object
    npy: NpyHeader | None = None


#: The kinds :func:`sniff` gives torch checkpoints.
TORCH_KINDS = ("torch-zip", "torch-legacy", "torch-tar")


def installed_plugin_names() -> list[str]:
    """The first-party plugins installed here, among ``numpy`` and ``torch``."""
    from emulpickle.registry import installed_plugins

    available = installed_plugins()
    return [name for name in ("numpy", "torch") if name in available]


def _registry() -> emulpickle.Registry:
    from emulpickle.registry import first_party_registry

    return first_party_registry()


def _read_head(path: str, n: int = 64) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def sniff(path: str) -> str:
    """The kind of file at ``path`` (see :class:`Loaded`); raises OSError."""
    head = _read_head(path, 512)
    if head.startswith(_ZIP_MAGIC):
        return "torch-zip"
    if head.startswith(_NPY_MAGIC):
        return "npy"
    if _TORCH_MAGIC in head[:32]:
        return "torch-legacy"
    if len(head) == 512 and head[257:262] == b"ustar":
        return "torch-tar"  # the oldest torch.save format: a tar of pickles
    return "pickle"


def zip_pickle(path: str) -> tuple[ZipArchive, ZipMember]:
    """The zip archive at ``path`` (memory-mapped) and its ``data.pkl`` record.

    The archive is bounded by the current :class:`emulpickle.Limits` (member
    count, inflated bytes and ratio); overlapping records, a ``data.pkl``
    listed twice and several ``data.pkl`` records are refused.
    """
    limits = emulpickle.current_limits()
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        data: Any = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    try:
        archive = ZipArchive(
            data,
            max_members=limits.max_archive_members,
            max_inflated_bytes=limits.max_inflated_bytes,
            max_inflate_ratio=limits.max_inflate_ratio,
        )
        names = [
            name
            for name in archive.names()
            if name == "data.pkl" or name.endswith("/data.pkl")
        ]
        if len(set(names)) > 1:
            raise FormatError("several data.pkl records (which one would be read?)")
        member = archive.get(names[0]) if names else None
    except FormatError as exc:
        raise CliError(f"{path}: not a readable zip archive: {exc}") from None
    if member is None:
        raise CliError(
            f"{path}: a zip archive without data.pkl (not a torch checkpoint)"
        )
    return archive, member


def zip_pickle_name(path: str) -> str:
    """The name of the ``data.pkl`` record in a torch zip checkpoint."""
    return zip_pickle(path)[1].name


def read_zip_pickle(path: str) -> tuple[str, bytes]:
    """The name and bytes of the ``data.pkl`` record of a torch zip checkpoint,
    inflated within the current :class:`emulpickle.Limits`."""
    archive, member = zip_pickle(path)
    try:
        view = archive.read(member)
    except FormatError as exc:
        raise CliError(f"{path}: {exc}") from None
    data = bytes(view)
    view.release()
    return member.name, data


def _torch() -> Any:
    try:
        import emulpickle_torch
    except ImportError:
        raise CliError(
            "this is a torch checkpoint; install emulpickle-torch to read it"
        ) from None
    return emulpickle_torch


def read_npy_header(path: str) -> NpyHeader:
    """Parse the header of a ``.npy`` file without numpy."""
    with open(path, "rb") as f:
        prefix = f.read(12)
        if len(prefix) < 10 or not prefix.startswith(_NPY_MAGIC):
            raise CliError(f"{path}: truncated .npy header")
        major, minor = prefix[6], prefix[7]
        if major == 1:
            (length,) = struct.unpack("<H", prefix[8:10])
            start = 10
        elif major in (2, 3):
            if len(prefix) < 12:
                raise CliError(f"{path}: truncated .npy header")
            (length,) = struct.unpack("<I", prefix[8:12])
            start = 12
        else:
            raise CliError(f"{path}: unsupported .npy format version {major}.{minor}")
        if length > _MAX_NPY_HEADER:
            raise CliError(f"{path}: .npy header of {length} bytes is too long")
        f.seek(start)
        raw = f.read(length)
    if len(raw) < length:
        raise CliError(f"{path}: truncated .npy header")
    try:
        text = raw.decode("utf-8" if major == 3 else "latin-1")
        # A literal only: literal_eval never calls or imports anything.
        header = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, RecursionError, MemoryError) as exc:
        raise CliError(f"{path}: malformed .npy header: {exc}") from None
    if not isinstance(header, dict) or set(header) != {
        "descr",
        "fortran_order",
        "shape",
    }:
        raise CliError(f"{path}: malformed .npy header: {text.strip()[:80]!r}")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(
        type(n) is int and n >= 0 for n in shape
    ):
        raise CliError(f"{path}: malformed .npy shape {emulpickle.bounded_repr(shape)}")
    return NpyHeader(
        descr=header["descr"],
        fortran_order=bool(header["fortran_order"]),
        shape=shape,
        version=(major, minor),
        data_offset=start + length,
    )


def _load_npy(path: str) -> Loaded:
    header = read_npy_header(path)
    if header.has_objects:
        # Object arrays are stored as a pickle after the header.
        with open(path, "rb") as f:
            f.seek(header.data_offset)
            obj = emulpickle.load(f, registry=_registry(), unknown="generic")
        return Loaded("npy", obj, header)
    try:
        import numpy as np
    except ImportError:
        return Loaded("npy", None, header)
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, TypeError, OSError) as exc:
        raise CliError(f"{path}: cannot read the .npy data: {exc}") from None
    return Loaded("npy", array, header)


def load_file(path: str) -> Loaded:
    """Load ``path`` with the right loader, never running anything it names.

    Raises:
        CliError, OSError, emulpickle.UnpicklingError: unreadable input.
    """
    kind = sniff(path)
    if kind in TORCH_KINDS:
        torch = _torch()
        if kind == "torch-zip":
            zip_pickle_name(path)
        try:
            obj = torch.load(path, unknown="generic")
        except (torch.TorchFormatError, torch.TorchScriptArchiveError) as exc:
            raise CliError(f"{path}: {exc}") from None
        return Loaded(kind, obj)
    if kind == "npy":
        return _load_npy(path)
    with open(path, "rb") as f:
        obj = emulpickle.load(f, registry=_registry(), unknown="generic")
    return Loaded(kind, obj)
