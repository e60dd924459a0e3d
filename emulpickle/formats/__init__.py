"""Bounded readers and writers of the formats pickles come in and go to.

This package sits below the rest of emulpickle and imports nothing from it,
so that the core, the scanner, the CLI and the plugins share one reader per
format instead of copies. Bounds arrive as plain ints (callers pass the
fields of their :class:`emulpickle.Limits`); every problem is a
:class:`FormatError`, which callers turn into their own errors (a
``FormatError`` with a ``limit`` becomes
``emulpickle.LimitExceededError(limit=...)``).

Modules:
    emulpickle.formats.zip: central directory, ZIP64, stored and deflated
        members; overlapping and duplicated members refused; inflation
        bounded by size, ratio and a running total.
    emulpickle.formats.tar: ustar, GNU and PAX headers, listed in place.
    emulpickle.formats.npy: the ``.npy`` header (also of ``.npz`` members),
        parsed as a literal within one size limit, and built for writing.
    emulpickle.formats.npz: a streaming ``.npz`` writer (no numpy needed).
    emulpickle.formats.magic: what a file is, by its first bytes.
    emulpickle.formats.compressed: gzip, bz2, xz, lzma, zlib and zstd
        streams, decompressed within a bound.
    emulpickle.formats.safetensors: a streaming safetensors writer.
"""

from __future__ import annotations

from ._source import BufferSource, ByteSource, FormatError, SliceSource, as_source

__all__ = ["BufferSource", "ByteSource", "FormatError", "SliceSource", "as_source"]
