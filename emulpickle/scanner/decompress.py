"""Compressed joblib files: which compressor ``joblib.load`` picks, and the stream.

``joblib.load`` recognises a compressed file by its first bytes (zlib, gzip,
bz2, xz, lzma, lz4, and ``ZF``, the format of joblib before 0.10) and reads
the pickle stream it decompresses to. :func:`compression` makes the same
choice; :func:`decompress` gives the stream, refusing more than a bound the
caller sets (see :meth:`.collector.Collector.inflate_limit`).
"""

from __future__ import annotations

from typing import Any

from ..formats.magic import joblib_compression

__all__ = ["DecompressError", "compression", "decompress"]

#: Compressed bytes read, and decompressed bytes made, per step: the output
#: grows in steps, never held twice whole.
_CHUNK = 1 << 20
_OUT_CHUNK = 16 << 20


#: The compressor joblib.load would pick for a file starting with ``head``
#: (its first 10 bytes): one sniffing rule, in emulpickle.formats.magic.
compression = joblib_compression


class DecompressError(Exception):
    """A compressed joblib file cannot be decompressed (within the limit)."""


def decompress(data: Any, kind: str, limit: int) -> bytearray:
    """The stream a compressed joblib file holds, at most ``limit`` bytes.

    ``kind`` is ``zlib``, ``gzip``, ``bz2``, ``xz``, ``lzma`` or ``compat``
    (joblib before 0.10: ``ZF``, a hexadecimal length, then zlib data).
    """
    if kind == "compat":
        try:
            length = int(bytes(data[2:21]), 16)
        except ValueError:
            raise DecompressError("bad header") from None
        out = _inflate(data, 22 if data[21:22] == b" " else 21, 15, limit)
        if len(out) != length:
            raise DecompressError(f"{len(out)} bytes where the header says {length}")
        return out
    if kind in ("zlib", "gzip"):
        # joblib's own reader: one stream; what follows it is never read.
        return _inflate(data, 0, 15 if kind == "zlib" else 31, limit)
    import io

    # joblib reads these with the same classes: several streams, and trailing
    # data that is not a stream, are read the same way here.
    errors: tuple[type[Exception], ...] = (OSError, EOFError, ValueError)
    opener: Any
    if kind == "bz2":
        import bz2

        opener = bz2.BZ2File
    else:
        import lzma

        opener = lzma.LZMAFile
        errors += (lzma.LZMAError,)
    if isinstance(data, (bytes, bytearray)):
        source: Any = io.BytesIO(data)
    else:  # an mmap is a file already: no copy of it
        source = data
        source.seek(0)
    out = bytearray()
    try:
        with opener(source) as reader:
            while piece := reader.read(min(_CHUNK, limit - len(out) + 1)):
                out += piece
                _bounded(out, limit)
    except errors as exc:
        raise DecompressError(str(exc) or type(exc).__name__) from None
    return out


def _inflate(data: Any, pos: int, wbits: int, limit: int) -> bytearray:
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
                    raise DecompressError("the compressed stream is truncated")
            out += inflater.decompress(source, min(_OUT_CHUNK, limit - len(out) + 1))
            _bounded(out, limit)
    except zlib.error as exc:
        raise DecompressError(f"bad compressed data ({exc})") from None
    return out


def _bounded(out: bytearray, limit: int) -> None:
    if len(out) > limit:
        raise DecompressError(
            f"decompresses to more than {limit} bytes (decompression bomb?)"
        )
