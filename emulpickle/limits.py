"""Resource limits applied while loading untrusted pickles."""

from __future__ import annotations

import attrs

__all__ = ["Limits"]


@attrs.frozen
class Limits:
    """Bounds on what a pickle may make the machine do.

    The defaults never trigger on legitimate files (millions of objects,
    multi-gigabyte strings that are actually present in the input) while
    keeping memory and time proportional to the size of a hostile input.

    Attributes:
        max_mark_depth: how many MARKs may be open at once (nesting depth of
            tuples, lists, dicts and sets built with MARK).
        max_emulator_alloc: the most bytes (or items) an emulator may create
            that are *not* backed by bytes in the input, e.g. ``bytearray(n)``
            or ``list(range(n))``.
        read_chunk: how many bytes are read from a file object at a time; an
            untrusted length prefix never causes a larger read than this plus
            what is actually in the file.
    """

    max_mark_depth: int = 100_000
    max_emulator_alloc: int = 64 * 1024 * 1024
    read_chunk: int = 1 << 20


DEFAULT_LIMITS = Limits()
