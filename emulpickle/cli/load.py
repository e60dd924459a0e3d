"""How the ``emulpickle`` command loads a file: :func:`emulpickle.open_file`.

``show`` and ``json`` load with :func:`load_file` (unknown globals become
generic placeholders; nothing a file names is imported or run). ``dis`` and
``convert`` read containers themselves with the helpers here, which also
accept ``-`` (standard input, see :mod:`.inputs`).
"""

from __future__ import annotations

import mmap
import os
from typing import Any

import attrs

import emulpickle
from emulpickle.formats import FormatError, magic, npy
from emulpickle.formats.npy import NpyHeader
from emulpickle.formats.zip import ZipArchive, ZipMember

from .inputs import display_name, is_stdin, stdin_bytes
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
#: Kinds ``dis`` and ``convert`` do not read (``show`` and ``json`` read
#: the compressed ones; ``emulpickle scan`` reads more).
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
        kind: the :attr:`emulpickle.OpenedFile.format` (``"pickle"``,
            ``"pickles"``, ``"torch-zip"``, ``"npy"``, ``"npz"``...).
        obj: the loaded object tree (object arrays as their elements).
        npy: the header, for ``.npy`` files.
        compression: the wrapper it came in (``"gzip"``...), or None.
    """

    kind: str
    obj: object
    npy: NpyHeader | None = None
    compression: str | None = None


def sniff(path: str) -> str:
    """The kind of file at ``path``: ``"torch-zip"``, ``"torch-legacy"``,
    ``"torch-tar"``, ``"npy"``, ``"pickle"``, or another kind of
    :func:`emulpickle.formats.magic.sniff`; raises OSError."""
    if is_stdin(path):
        data = stdin_bytes()
        kind = magic.sniff(data[: magic.HEAD_SIZE], len(data))
    else:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            kind = magic.sniff(f.read(magic.HEAD_SIZE), size)
    return _KIND_NAMES.get(kind, kind)


def check_loadable(path: str, kind: str) -> None:
    """A :class:`CliError` for a kind of file ``dis``/``convert`` do not read."""
    what = _NOT_LOADED.get(kind)
    if what is not None:
        raise CliError(
            f"{display_name(path)}: {what}; this command reads pickles, torch "
            "checkpoints and .npy files (show, json and scan read more)"
        )


def map_file(path: str) -> Any:
    """The file's bytes, memory-mapped (read-only) when it is not empty;
    standard input's bytes for ``-``."""
    if is_stdin(path):
        return stdin_bytes()
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
        raise CliError(
            f"{display_name(path)}: not a readable zip archive: {exc}"
        ) from None
    if member is None:
        raise CliError(
            f"{display_name(path)}: a zip archive without data.pkl "
            "(not a torch checkpoint)"
        )
    return archive, member


def read_zip_pickle(path: str) -> tuple[str, bytes]:
    """The name and bytes of the ``data.pkl`` record of a torch zip checkpoint,
    inflated within the current :class:`emulpickle.Limits`."""
    archive, member = zip_pickle(path)
    try:
        view = archive.read(member)
    except FormatError as exc:
        raise CliError(f"{display_name(path)}: {exc}") from None
    data = bytes(view)
    view.release()
    return member.name, data


def read_npy_header(path: str) -> NpyHeader:
    """The header of the ``.npy`` file at ``path``, read without numpy."""
    try:
        if is_stdin(path):
            return npy.parse_header(stdin_bytes())
        with open(path, "rb") as f:
            return npy.read_header(f)
    except FormatError as exc:
        raise CliError(f"{display_name(path)}: {exc}") from None


def load_torch(path: str, kind: str, **options: Any) -> object:
    """A torch checkpoint, loaded by the plugin with unknown globals as
    generic placeholders; ``options`` go to ``emulpickle_torch.load``."""
    torch, _ = require_torch("reading a torch checkpoint")
    if kind == "torch-zip":
        zip_pickle(path)  # the CLI's own bounds and message for a bad archive
    try:
        return torch.load(
            stdin_bytes() if is_stdin(path) else path, unknown="generic", **options
        )
    except (torch.TorchFormatError, torch.TorchScriptArchiveError) as exc:
        raise CliError(f"{display_name(path)}: {exc}") from None


def _elements(value: object) -> object:
    """An object array (``dtype('O')``) as the nested list of its elements,
    so that ``show`` and ``json`` show what it holds; else ``value``."""
    dtype = getattr(value, "dtype", None)
    tolist = getattr(value, "tolist", None)
    is_objects = getattr(dtype, "kind", "") == "O" and getattr(dtype, "hasobject", 0)
    if is_objects and callable(tolist):
        return tolist()
    return value


def load_file(path: str) -> Loaded:
    """Load ``path`` (``-``: standard input) with :func:`emulpickle.open_file`,
    unknown globals as generic placeholders, never running anything it names.

    Raises:
        OSError, emulpickle.UnpicklingError (FileFormatError...): unreadable
        input.
    """
    source: Any = stdin_bytes() if is_stdin(path) else path
    opened = emulpickle.open_file(source, registry=registry(), unknown="generic")
    value = opened.value
    if opened.format == "npz" and isinstance(value, dict):
        value = {key: _elements(item) for key, item in value.items()}
    else:
        value = _elements(value)
    return Loaded(opened.format, value, opened.npy_header, opened.compression)
