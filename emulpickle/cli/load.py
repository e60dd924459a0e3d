"""How the ``emulpickle`` command recognises and loads a file.

Nothing here imports or runs anything a file names: pickles are loaded by
emulpickle (unknown globals become generic placeholders), torch checkpoints
by the ``emulpickle-torch`` plugin's ``load``, and ``.npy`` headers are
parsed as literals (:mod:`emulpickle.formats.npy`). The kind of a file is
decided by its magic bytes (:mod:`emulpickle.formats.magic`).
"""

from __future__ import annotations

import mmap
import os
import warnings
from typing import Any

import attrs

import emulpickle
from emulpickle.formats import FormatError, magic, npy
from emulpickle.formats.npy import NpyHeader
from emulpickle.formats.zip import ZipArchive, ZipMember

from .output import CliError
from .plugins import registry, require_torch

__all__ = [
    "TORCH_KINDS",
    "Loaded",
    "load_file",
    "map_file",
    "read_npy_header",
    "read_zip_pickle",
    "sniff",
    "zip_pickle",
]

#: The kinds :func:`sniff` gives torch checkpoints.
TORCH_KINDS = ("torch-zip", "torch-legacy", "torch-tar")
#: What the CLI calls the kinds of :func:`emulpickle.formats.magic.sniff`.
_KIND_NAMES = {"zip": "torch-zip", "tar": "torch-tar"}
#: Kinds the CLI does not load (only ``emulpickle scan`` reads some).
_NOT_LOADED = {
    "gzip": "a gzip-compressed file",
    "bz2": "a bz2-compressed file",
    "xz": "an xz-compressed file",
    "lzma": "an lzma-compressed file",
    "zstd": "a zstd-compressed file",
    "lz4": "an lz4-compressed file",
    "zlib": "a zlib-compressed file (joblib)",
    "joblib": "a compressed joblib file (joblib < 0.10)",
    "7z": "a 7z archive",
    "safetensors": "a safetensors file (no pickle in it)",
}


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


def sniff(path: str) -> str:
    """The kind of file at ``path``: ``"torch-zip"``, ``"torch-legacy"``,
    ``"torch-tar"``, ``"npy"``, ``"pickle"``, or another kind of
    :func:`emulpickle.formats.magic.sniff`; raises OSError."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(magic.HEAD_SIZE)
    kind = magic.sniff(head, size)
    return _KIND_NAMES.get(kind, kind)


def check_loadable(path: str, kind: str) -> None:
    """A :class:`CliError` for a kind of file the CLI does not load."""
    what = _NOT_LOADED.get(kind)
    if what is not None:
        raise CliError(
            f"{path}: {what}; this command reads pickles, torch checkpoints "
            "and .npy files (emulpickle scan reads more)"
        )


def map_file(path: str) -> Any:
    """The file's bytes, memory-mapped (read-only) when it is not empty."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return f.read()
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def zip_pickle(path: str) -> tuple[ZipArchive, ZipMember]:
    """The zip archive at ``path`` (memory-mapped) and its ``data.pkl`` record.

    The archive is bounded by the current :class:`emulpickle.Limits` (member
    count, inflated bytes and ratio); overlapping records, a ``data.pkl``
    listed twice and several ``data.pkl`` records are refused.
    """
    limits = emulpickle.current_limits()
    data = map_file(path)
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


def read_npy_header(path: str) -> NpyHeader:
    """The header of the ``.npy`` file at ``path``, read without numpy."""
    with open(path, "rb") as f:
        try:
            return npy.read_header(f)
        except FormatError as exc:
            raise CliError(f"{path}: {exc}") from None


def load_torch(path: str, kind: str, **options: Any) -> object:
    """A torch checkpoint, loaded by the plugin with unknown globals as
    generic placeholders; ``options`` go to ``emulpickle_torch.load``."""
    torch, _ = require_torch("reading a torch checkpoint")
    if kind == "torch-zip":
        zip_pickle(path)  # the CLI's own bounds and message for a bad archive
    try:
        return torch.load(path, unknown="generic", **options)
    except (torch.TorchFormatError, torch.TorchScriptArchiveError) as exc:
        raise CliError(f"{path}: {exc}") from None


def _load_npy(path: str) -> Loaded:
    header = read_npy_header(path)
    if header.has_objects:
        # Object arrays are stored as a pickle after the header.
        with open(path, "rb") as f:
            f.seek(header.data_offset)
            obj = emulpickle.load(f, registry=registry(), unknown="generic")
        return Loaded("npy", obj, header)
    try:
        import numpy as np
    except ImportError:
        return Loaded("npy", None, header)
    try:
        with warnings.catch_warnings():
            # numpy's note on Python 2 headers ("save the file again").
            warnings.simplefilter("ignore", UserWarning)
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
    check_loadable(path, kind)
    if kind in TORCH_KINDS:
        return Loaded(kind, load_torch(path, kind))
    if kind == "npy":
        return _load_npy(path)
    with open(path, "rb") as f:
        obj = emulpickle.load(f, registry=registry(), unknown="generic")
    return Loaded(kind, obj)
