"""Resource limits applied while loading untrusted pickles."""

from __future__ import annotations

from ._frozen import FrozenValue

__all__ = ["Limits"]


class Limits(FrozenValue):
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
        max_key_depth: how deeply tuples used as dict keys or set items may
            nest. CPython hashes nested tuples recursively in C without a
            guard, so a very deep one would crash the interpreter.
        max_key_size: how many objects hashing one such key may visit,
            counting shared subtrees each time they are reached (CPython does
            not cache tuple hashes, so sharing makes hashing exponential).
            All keys of one load that visit more than 64 objects may visit
            ten times this many in total (each insertion hashes again).
        max_hash_collisions: how many *different* keys with one hash one dict
            or set may receive once it holds more than this many keys.
            Inserting ``n`` keys with one hash costs ``n**2 / 2`` comparisons
            (ints ``k * (2**61 - 1)`` all hash to 0, and floats, complex
            numbers and tuples collide as easily), so a pickle of a few
            megabytes could otherwise keep the loader busy for hours. With
            the limit a container holds at most a few times this many keys
            of one hash, and loading time stays linear in the input. str,
            bytes, None, bools and ints below ``2**61 - 1`` in magnitude
            never count.
        read_chunk: how many bytes are read from a file object at a time; an
            untrusted length prefix never causes a larger read than this plus
            what is actually in the file.
        max_number_digits: how many decimal digits a number an emulator
            converts may have, and how large a decimal exponent it may expand
            (``Decimal``, ``Fraction``, ``int`` of a ``Decimal`` or a string).
            Conversions between bases and gcds are super-linear, so without a
            bound a 250 KB literal costs seconds and ``"1e20000000"`` hours;
            CPython bounds ``int``/``str`` conversion the same way
            (``sys.set_int_max_str_digits``).
        max_inflated_bytes: how many bytes one load may inflate from
            compressed data in total (deflated archive members, gzip, bz2,
            xz, lzma streams), whatever the number of members.
        max_inflate_ratio: how many times its compressed size one member or
            stream may inflate to once it is larger than 1 MiB (deflate
            itself reaches at most ~1032:1; more is a bomb built by nesting
            or by overlapping archive members).
        max_archive_members: how many members an archive (zip, tar) may list.

    Instances are immutable; ``limits.replace(read_chunk=...)`` makes a
    changed copy.
    """

    _fields = (
        "max_mark_depth",
        "max_emulator_alloc",
        "max_key_depth",
        "max_key_size",
        "read_chunk",
        "max_hash_collisions",
        "max_number_digits",
        "max_inflated_bytes",
        "max_inflate_ratio",
        "max_archive_members",
    )
    __slots__ = _fields
    max_mark_depth: int
    max_emulator_alloc: int
    max_key_depth: int
    max_key_size: int
    read_chunk: int
    max_hash_collisions: int
    max_number_digits: int
    max_inflated_bytes: int
    max_inflate_ratio: int
    max_archive_members: int

    def __init__(
        self,
        max_mark_depth: int = 100_000,
        max_emulator_alloc: int = 64 * 1024 * 1024,
        max_key_depth: int = 10_000,
        max_key_size: int = 10_000_000,
        read_chunk: int = 1 << 20,
        max_hash_collisions: int = 64,
        max_number_digits: int = 10_000,
        max_inflated_bytes: int = 4 << 30,
        max_inflate_ratio: int = 1100,
        max_archive_members: int = 100_000,
    ) -> None:
        self._set("max_mark_depth", max_mark_depth)
        self._set("max_emulator_alloc", max_emulator_alloc)
        self._set("max_key_depth", max_key_depth)
        self._set("max_key_size", max_key_size)
        self._set("read_chunk", read_chunk)
        self._set("max_hash_collisions", max_hash_collisions)
        self._set("max_number_digits", max_number_digits)
        self._set("max_inflated_bytes", max_inflated_bytes)
        self._set("max_inflate_ratio", max_inflate_ratio)
        self._set("max_archive_members", max_archive_members)


DEFAULT_LIMITS = Limits()
