"""Compressed streams within a bound: gzip, bz2, xz, lzma, zlib, zstd, lz4.

``joblib.load`` recognises a compressed file by its first bytes (zlib, gzip,
bz2, xz, lzma, lz4, and ``ZF``, the format of joblib before 0.10; see
:func:`emulpickle.formats.magic.sniff`) and reads the pickle stream it
decompresses to; ``emulpickle.open_file`` reads the same wrappers (lz4 when
the optional ``lz4`` package is installed, as joblib), and zstd when the
``zstandard`` package is installed. :func:`decompress` gives the
stream, refusing more than a bound the caller sets (a decompression bomb
becomes a :class:`FormatError` naming the ``Limits`` field, not an
allocation of gigabytes); :func:`inflate_limit` computes that bound from
:class:`emulpickle.Limits` fields as the zip reader does.
"""

from __future__ import annotations

from typing import Any

from ._source import FormatError
from .zip import RATIO_FLOOR

__all__ = ["KINDS", "LZ4_INSTALL", "decompress", "inflate_limit"]

#: What :func:`decompress` reads (zstd and lz4 only with their optional
#: packages: no reader in the standard library).
KINDS = ("compat", "zlib", "gzip", "bz2", "xz", "lzma", "zstd", "lz4")
#: How to install the optional package lz4 data needs (emulpickle's extra).
LZ4_INSTALL = "pip install 'emulpickle[lz4]'"

#: Compressed bytes read, and decompressed bytes made, per step: the output
#: grows in steps, never held twice whole.
_CHUNK = 1 << 20
_OUT_CHUNK = 16 << 20


def inflate_limit(
    compressed: int, max_inflated_bytes: int, max_inflate_ratio: int
) -> tuple[int, str]:
    """How far ``compressed`` bytes may inflate, and the ``Limits`` field
    that says so: ``max_inflate_ratio`` times their size beyond
    :data:`~emulpickle.formats.zip.RATIO_FLOOR`, and at most
    ``max_inflated_bytes`` (as the zip reader bounds a member)."""
    ratio = max(RATIO_FLOOR, max_inflate_ratio * compressed)
    if ratio < max_inflated_bytes:
        return ratio, "max_inflate_ratio"
    return max_inflated_bytes, "max_inflated_bytes"


def decompress(
    data: Any, kind: str, limit: int, *, limit_name: str | None = None
) -> bytearray:
    """The stream a compressed file holds, at most ``limit`` bytes.

    ``kind`` is one of :data:`KINDS`: ``compat`` is joblib before 0.10
    (``ZF``, a hexadecimal length, then zlib data); ``zlib`` and ``gzip``
    are read as joblib reads them (one stream; what follows is never read);
    ``bz2``, ``xz`` and ``lzma`` as their file classes read them (several
    streams; trailing data that is not a stream ignored); ``zstd`` needs
    the ``zstandard`` package, ``lz4`` (frames, as joblib writes them) the
    ``lz4`` package.

    Raises:
        FormatError: corrupt or truncated data, or more than ``limit``
            bytes (its ``limit`` is then ``limit_name``, the ``Limits``
            field the bound stands for).
    """
    if kind == "compat":
        try:
            length = int(bytes(data[2:21]), 16)
        except ValueError:
            raise FormatError("bad header") from None
        out = _inflate(data, 22 if data[21:22] == b" " else 21, 15, limit, limit_name)
        if len(out) != length:
            raise FormatError(f"{len(out)} bytes where the header says {length}")
        return out
    if kind in ("zlib", "gzip"):
        # joblib's own reader: one stream; what follows it is never read.
        return _inflate(data, 0, 15 if kind == "zlib" else 31, limit, limit_name)
    if kind not in KINDS:
        raise FormatError(f"{kind}-compressed data cannot be read")
    return _read_streams(data, kind, limit, limit_name)


def _read_streams(
    data: Any, kind: str, limit: int, limit_name: str | None
) -> bytearray:
    """bz2, xz, lzma, zstd and lz4, read through their file-like readers."""
    import io

    # joblib reads bz2/xz/lzma with these classes: several streams, and
    # trailing data that is not a stream, are read the same way here.
    errors: tuple[type[Exception], ...] = (OSError, EOFError, ValueError)
    if isinstance(data, (bytes, bytearray)):
        source: Any = io.BytesIO(data)
    else:  # an mmap is a file already: no copy of it
        source = data
        source.seek(0)
    opener: Any
    if kind == "bz2":
        import bz2

        opener = bz2.BZ2File
    elif kind == "zstd":
        import importlib

        try:
            # Optional, and untyped: imported by name.
            zstandard: Any = importlib.import_module("zstandard")
        except ImportError:
            raise FormatError(
                "zstd-compressed data needs the zstandard package "
                "(pip install zstandard)"
            ) from None

        errors += (zstandard.ZstdError,)

        def opener(file: Any) -> Any:
            return zstandard.ZstdDecompressor().stream_reader(
                file, read_across_frames=True
            )
    elif kind == "lz4":
        import importlib

        try:
            # Optional and untyped, as zstandard; joblib reads lz4 with the
            # same LZ4FrameFile (several frames, one after another).
            lz4_frame: Any = importlib.import_module("lz4.frame")
        except ImportError:
            raise FormatError(
                f"lz4-compressed data needs the lz4 package ({LZ4_INSTALL})"
            ) from None
        # lz4 reports corrupt frames as RuntimeError.
        errors += (RuntimeError,)
        opener = lz4_frame.LZ4FrameFile
    else:
        import lzma

        opener = lzma.LZMAFile
        errors += (lzma.LZMAError,)
    out = bytearray()
    try:
        with opener(source) as reader:
            while piece := reader.read(min(_CHUNK, limit - len(out) + 1)):
                out += piece
                _bounded(out, limit, limit_name)
    except FormatError:  # the bound (a ValueError too): as it is
        raise
    except errors as exc:
        raise FormatError(str(exc) or type(exc).__name__) from None
    return out


def _inflate(
    data: Any, pos: int, wbits: int, limit: int, limit_name: str | None
) -> bytearray:
    import zlib

    inflater = zlib.decompressobj(wbits)
    out = bytearray()
    try:
        while not inflater.eof:
            source = inflater.unconsumed_tail
            if not source:
                source = data[pos : pos + _CHUNK]
                pos += len(source)
                if not source:
                    raise FormatError("the compressed stream is truncated")
            out += inflater.decompress(source, min(_OUT_CHUNK, limit - len(out) + 1))
            _bounded(out, limit, limit_name)
    except zlib.error as exc:
        raise FormatError(f"bad compressed data ({exc})") from None
    return out


def _bounded(out: bytearray, limit: int, limit_name: str | None) -> None:
    if len(out) > limit:
        why = (
            f"Limits.{limit_name}; a decompression bomb?"
            if limit_name
            else ("decompression bomb?")
        )
        raise FormatError(
            f"decompresses to more than {limit} bytes ({why})", limit=limit_name
        )
