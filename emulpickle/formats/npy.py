"""The one ``.npy`` header parser (``.npz`` archives hold ``.npy`` members).

A ``.npy`` file is the magic ``\\x93NUMPY``, a version (1.0, 2.0 or 3.0), the
header's length (2 bytes little-endian for 1.0, 4 for later versions), and
the header: the text of a Python dict literal with the keys ``descr`` (the
dtype), ``fortran_order`` and ``shape``. The data follows; for a dtype that
holds Python objects it is a pickle.

The header is parsed as a literal only (:func:`ast.literal_eval`, which never
calls or imports anything), after its length is checked against one bound,
:data:`MAX_HEADER_SIZE`, so that a length field of 4 GB reads nothing.
Checks follow numpy's own reader (``numpy.lib.format``): the version, the
exact keys, a tuple of ints for the shape, a bool for the order, and the
Python 2 ``L`` suffixes of long ints, which numpy accepts in 1.0 and 2.0
headers.
"""

from __future__ import annotations

import ast
import io
import struct
import tokenize
from typing import Any, BinaryIO, NamedTuple

from ._source import FormatError, as_source

__all__ = [
    "ALIGN",
    "MAGIC",
    "MAX_HEADER_SIZE",
    "NpyHeader",
    "build_header",
    "is_npy",
    "may_hold_objects",
    "parse_header",
    "read_header",
]

MAGIC = b"\x93NUMPY"
#: The longest header read, in bytes. Every 1.0 header fits (its length
#: field has 2 bytes); numpy's own reader refuses more than 10,000 bytes
#: unless told to trust the file.
MAX_HEADER_SIZE = 1 << 16
#: The bytes before the header: magic, version and a 4-byte length at most.
PREFIX_SIZE = 12
#: numpy pads the header so that the data starts at a multiple of this.
ALIGN = 64

_VERSIONS = {
    (1, 0): ("<H", "latin-1"),
    (2, 0): ("<I", "latin-1"),
    (3, 0): ("<I", "utf-8"),
}
_KEYS = {"descr", "fortran_order", "shape"}
#: How much of a malformed header an error message quotes.
_QUOTED = 80


class NpyHeader(NamedTuple):
    """The header of a ``.npy`` file.

    Attributes:
        descr: the dtype description as written (a str or a list of fields).
        fortran_order: whether the data is in Fortran order.
        shape: the array's shape.
        version: the format version, e.g. ``(1, 0)``.
        data_offset: where the data (or the pickle of an object array)
            starts, counted as the offset the header was read from.
    """

    descr: object
    fortran_order: bool
    shape: tuple[int, ...]
    version: tuple[int, int]
    data_offset: int

    @property
    def has_objects(self) -> bool:
        """Whether the data may be a pickle (see :func:`may_hold_objects`)."""
        return may_hold_objects(self.descr)


def may_hold_objects(descr: object) -> bool:
    """Whether numpy could read ``descr`` as a dtype holding Python objects
    (its data is then a pickle).

    Decided without numpy, so it errs towards yes: a type string naming
    objects (``"|O"``, ``"object"``) anywhere in the description, or any
    part that is not a type string, a ``(descr, shape)`` pair or a list of
    ``(name, descr[, shape])`` fields.
    """
    stack = [descr]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "O" in item or "object" in item.lower():
                return True
        elif isinstance(item, tuple) and len(item) == 2:
            stack.append(item[0])  # numpy reads a tuple as (descr, shape)
        elif isinstance(item, list):
            for field in item:
                if not isinstance(field, tuple) or len(field) not in (2, 3):
                    return True
                stack.append(field[1])
        else:
            return True
    return False


def is_npy(data: Any) -> bool:
    """Whether ``data`` (bytes-like or a byte source) starts with the magic."""
    source = as_source(data)
    return source.size >= len(MAGIC) and bytes(source.read(0, len(MAGIC))) == MAGIC


def _extent(prefix: bytes, max_header_size: int) -> tuple[tuple[int, int], int, int]:
    """``(version, header start, header length)`` from the first bytes."""
    if len(prefix) < 10 or not prefix.startswith(MAGIC):
        raise FormatError("truncated .npy header")
    version = (prefix[6], prefix[7])
    layout = _VERSIONS.get(version)
    if layout is None:
        raise FormatError(f"unsupported .npy format version {version[0]}.{version[1]}")
    size = struct.calcsize(layout[0])
    if len(prefix) < 8 + size:
        raise FormatError("truncated .npy header")
    (length,) = struct.unpack(layout[0], prefix[8 : 8 + size])
    if length > max_header_size:
        raise FormatError(
            f".npy header of {length} bytes is longer than the limit of "
            f"{max_header_size} bytes"
        )
    return version, 8 + size, length


def _without_long_suffixes(text: str) -> str:
    """``text`` without the ``L`` after ints that Python 2 wrote (``3L``)."""
    tokens: list[tokenize.TokenInfo] = []
    after_number = False
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if not (after_number and token.type == tokenize.NAME and token.string == "L"):
            tokens.append(token)
        after_number = token.type == tokenize.NUMBER
    return tokenize.untokenize(tokens)


def _literal(text: str, version: tuple[int, int]) -> object:
    try:
        return ast.literal_eval(text)
    except SyntaxError:
        if version == (3, 0):
            raise
    return ast.literal_eval(_without_long_suffixes(text))


def _decode(raw: bytes, version: tuple[int, int], data_offset: int) -> NpyHeader:
    """The header from its text (``raw``), as numpy checks it."""
    try:
        text = raw.decode(_VERSIONS[version][1]).strip()
        header = _literal(text, version)
    except (
        ValueError,
        SyntaxError,
        TypeError,
        RecursionError,
        MemoryError,
        tokenize.TokenError,
    ) as exc:
        raise FormatError(f"malformed .npy header: {exc}") from None
    if not isinstance(header, dict) or set(header) != _KEYS:
        raise FormatError(f"malformed .npy header: {text[:_QUOTED]!r}")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(
        type(n) is int and n >= 0 for n in shape
    ):
        raise FormatError(f"malformed .npy shape in {text[:_QUOTED]!r}")
    order = header["fortran_order"]
    if not isinstance(order, bool):
        raise FormatError(f"malformed .npy fortran_order in {text[:_QUOTED]!r}")
    return NpyHeader(header["descr"], order, shape, version, data_offset)


def parse_header(
    data: Any,
    start: int = 0,
    end: int | None = None,
    *,
    max_header_size: int = MAX_HEADER_SIZE,
) -> NpyHeader:
    """The header of the ``.npy`` image at ``data[start:end]``.

    ``data`` is bytes-like (a memory map too) or a byte source; the
    header's ``data_offset`` counts from the start of ``data``.

    Raises:
        FormatError: no magic, an unknown version, a header longer than
            ``max_header_size`` or beyond ``end``, or a malformed header.
    """
    source = as_source(data)
    stop = source.size if end is None else min(end, source.size)
    prefix = bytes(source.read(start, max(0, min(PREFIX_SIZE, stop - start))))
    version, body, length = _extent(prefix, max_header_size)
    if start + body + length > stop:
        raise FormatError("truncated .npy header")
    raw = bytes(source.read(start + body, length))
    return _decode(raw, version, start + body + length)


def read_header(file: BinaryIO, *, max_header_size: int = MAX_HEADER_SIZE) -> NpyHeader:
    """The header of the ``.npy`` file read from ``file``'s position; its
    ``data_offset`` counts from there. Reads the header only.

    Raises:
        FormatError: as :func:`parse_header`.
    """
    prefix = file.read(PREFIX_SIZE)
    version, body, length = _extent(prefix, max_header_size)
    raw = prefix[body:] + file.read(max(0, length - (len(prefix) - body)))
    if len(raw) < length:
        raise FormatError("truncated .npy header")
    return _decode(raw[:length], version, body + length)


def build_header(
    descr: object, shape: tuple[int, ...], fortran_order: bool = False
) -> bytes:
    """The bytes of a ``.npy`` header, as ``numpy.save`` writes it.

    ``descr`` is a type string (``"<f4"``) or a list of ``(name, type)``
    fields; the header is the dict literal padded with spaces and ended by a
    newline so that the data starts at a multiple of :data:`ALIGN`. Version
    1.0 is used when the header fits its 2-byte length, else 2.0.
    """
    text = (
        f"{{'descr': {descr!r}, 'fortran_order': {fortran_order!r}, "
        f"'shape': {tuple(shape)!r}, }}"
    )
    body = text.encode("latin-1")
    for version, (fmt, _) in _VERSIONS.items():
        prefix = 8 + struct.calcsize(fmt)
        padded = len(body) + 1 + (-(prefix + len(body) + 1) % ALIGN)
        if padded < 1 << (8 * struct.calcsize(fmt)):
            head = MAGIC + bytes(version) + struct.pack(fmt, padded)
            return head + body + b" " * (padded - len(body) - 1) + b"\n"
    raise FormatError("the .npy header is too long")  # pragma: no cover
