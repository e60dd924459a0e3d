"""Which files hold pickles, by their contents (never their names).

:func:`pickle_kind` says what pickle-bearing kind a file is, or None for a
file no pickle loader would unpickle: a raw or stacked pickle, a torch
checkpoint (zip, legacy stream, tar), a ``.npy`` of objects, an ``.npz``
whose members may be, a joblib file or a compressed pickle. Where it cannot
tell (a corrupt container, a compressor the standard library lacks) it says
yes: a manifest check that lists one file too many is better than one that
misses a pickle. A manifest pins the file a loader opens, so a container is
pinned by its own hash, which covers the pickles inside it.
"""

from __future__ import annotations

import bz2
import io
import lzma
import mmap
import os
import pickletools
import zlib
from typing import Any

from ..formats import magic, npy, tar
from ..formats._source import FormatError
from ..formats.zip import ZipArchive

__all__ = ["KIND_NAMES", "looks_like_pickle", "pickle_kind"]

#: How :func:`pickle_kind`'s answers read in messages.
KIND_NAMES = {
    "pickle": "pickle",
    "torch-zip": "torch checkpoint",
    "torch-legacy": "legacy torch checkpoint",
    "torch-tar": "torch tar checkpoint",
    "npy": ".npy of objects",
    "npz": ".npz",
    "joblib": "joblib file",
    "compressed": "compressed pickle",
}

#: Opcodes a protocol 0 or 1 pickle can start with (protocol 2 and later
#: start with PROTO): MARK, the empty containers, GLOBAL, PERSID and the
#: opcodes that push a value.
_FIRST_OPCODES = frozenset(b"(]})cPILFSVNJKMGUTX")
#: The decompressors of the standard library, by :func:`magic.sniff` kind.
_DECOMPRESSORS: dict[str, Any] = {
    "gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "zlib": zlib.decompressobj,
    "bz2": bz2.BZ2Decompressor,
    "xz": lzma.LZMADecompressor,
    "lzma": lzma.LZMADecompressor,
}
#: Members of a tar that ``torch.load`` reads as a legacy tar checkpoint.
_TORCH_TAR_MEMBERS = ("pickle", "sys_info")
#: Bounds for looking into containers: a listing, not a load.
_MAX_MEMBERS = 10_000
_COMPRESSED_PEEK = 64 * 1024
#: How much of a protocol 0/1 pickle is parsed to recognise it, and how close
#: to that window's end a parse error may be and still mean "cut short"
#: (the longest protocol 0 argument is a line: an int, a string...).
_PICKLE_PEEK = 64 * 1024
_TAIL_SLACK = 4096


def looks_like_pickle(window: bytes, *, whole: bool) -> bool:
    """Whether ``window`` (a file's first bytes; all of it when ``whole``)
    reads as a pickle: it declares a protocol (2 to 5), or it is a protocol
    0/1 pickle, whose opcodes :func:`pickletools.genops` parses (parsing
    runs nothing) up to STOP or, for a longer file, to the window's end.
    Bytes after STOP do not matter: ``pickle.load`` never reads them."""
    if magic.pickle_protocol(window) is not None:
        return True
    if not window or window[0] not in _FIRST_OPCODES:
        return False
    stream = io.BytesIO(window)
    try:
        for opcode, _, _ in pickletools.genops(stream):
            if opcode.name == "STOP":
                return True
    except ValueError:
        # Cut by the window, not by a byte that is no opcode.
        return not whole and stream.tell() >= len(window) - _TAIL_SLACK
    return False


def _zip_kind(data: Any) -> str | None:
    try:
        archive = ZipArchive(data, max_members=_MAX_MEMBERS)
    except FormatError:
        return "torch-zip"  # unreadable: say yes (see the module docstring)
    names = archive.names()
    if any(name == "data.pkl" or name.endswith("/data.pkl") for name in names):
        return "torch-zip"
    for member in archive.members:
        if not member.name.endswith(".npy"):
            continue
        if member.method != 0:
            return "npz"  # compressed (savez_compressed): its header unread
        try:
            start, end = archive.span(member)
            if npy.parse_header(data, start, end).has_objects:
                return "npz"
        except FormatError:
            return "npz"
    return None


def _decompressed_head(kind: str, f: Any) -> bytes | None:
    """The first bytes of a compressed stream, or None when the standard
    library cannot decompress it."""
    factory = _DECOMPRESSORS.get(kind)
    if factory is None:
        return None
    decompressor = factory()
    try:
        return bytes(decompressor.decompress(f.read(_COMPRESSED_PEEK), magic.HEAD_SIZE))
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):
        return None


def _kind_of_open(f: Any, size: int) -> str | None:
    head = f.read(magic.HEAD_SIZE)
    kind = magic.sniff(head, size)
    if kind in ("7z", "safetensors"):
        return None
    if kind == "torch-legacy":
        return kind
    if kind == "pickle":
        window = head + f.read(_PICKLE_PEEK - len(head))
        whole = len(window) >= size
        return "pickle" if looks_like_pickle(window, whole=whole) else None
    if kind == "npy":
        f.seek(0)
        try:
            return "npy" if npy.read_header(f).has_objects else None
        except FormatError:
            return "npy"
    if kind in ("zip", "tar"):
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if kind == "zip":
                return _zip_kind(data)
            try:
                members = tar.read_members(data, max_members=_MAX_MEMBERS)
            except FormatError:
                return "torch-tar"
            return "torch-tar" if set(_TORCH_TAR_MEMBERS) & set(members) else None
    if kind == "joblib":
        return "joblib"
    f.seek(0)
    inner = _decompressed_head(kind, f)
    if inner is None:
        return "compressed"  # lz4, zstd, or corrupt: cannot tell, say yes
    inner_kind = magic.sniff(inner)
    if inner_kind == "npy" or (
        inner_kind == "pickle" and looks_like_pickle(inner, whole=False)
    ):
        return "compressed"
    return None


def pickle_kind(path: str | os.PathLike[str]) -> str | None:
    """The pickle-bearing kind of the file at ``path`` (a key of
    :data:`KIND_NAMES`), or None when it holds no pickle; raises OSError."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return None
        return _kind_of_open(f, size)
