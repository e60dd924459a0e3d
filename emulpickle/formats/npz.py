"""A streaming writer of numpy's ``.npz`` format, without numpy.

An ``.npz`` file is a zip archive of ``.npy`` images, one per array, named
``<name>.npy`` (``numpy.savez`` stores them uncompressed, as here). Each
member is a ``.npy`` header (:func:`emulpickle.formats.npy.build_header`)
followed by the array's raw C-order bytes; the bytes are written one chunk
at a time, so memory use does not grow with the file. ``numpy.load`` reads
the result.

:func:`text_table` builds a member holding a 2-D array of strings (numpy's
``<U`` dtype: fixed-width UTF-32), which is how a converter can leave
string metadata in a file that numpy reads with ``allow_pickle=False``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Sequence
from typing import BinaryIO

import attrs

from ._source import FormatError
from .npy import build_header

__all__ = ["Member", "text_table", "write_file"]

#: A fixed date for every member: the same input gives the same bytes.
_DATE = (1980, 1, 1, 0, 0, 0)


@attrs.frozen
class Member:
    """An array to write.

    Attributes:
        name: its name in the archive (the member is ``<name>.npy``).
        descr: its ``.npy`` dtype description (``"<f4"``, ``"|u1"``, or a
            list of ``(field, type)`` pairs).
        shape: its shape.
        nbytes: the size of its data.
        chunks: called once while writing; yields the C-order bytes (any
            bytes-like objects) totalling ``nbytes``.
    """

    name: str
    descr: object
    shape: tuple[int, ...]
    nbytes: int
    chunks: Callable[[], Iterable[bytes | memoryview]]


def text_table(name: str, rows: Sequence[tuple[str, str]]) -> Member:
    """A member holding ``rows`` as a ``(len(rows), 2)`` array of str.

    numpy strips trailing NUL characters from such strings; nothing else
    is lost.
    """
    width = max((len(cell) for row in rows for cell in row), default=1) or 1
    data = b"".join(
        cell.encode("utf-32-le").ljust(4 * width, b"\0") for row in rows for cell in row
    )
    return Member(name, f"<U{width}", (len(rows), 2), len(data), lambda: [data])


def write_file(
    out: BinaryIO,
    members: Sequence[Member],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write an ``.npz`` archive of ``members`` to ``out`` (a seekable binary
    file); returns the bytes written.

    ``progress`` is called with the number of data bytes after each chunk.

    Raises:
        FormatError: two members with one name, or a member whose chunks do
            not total its ``nbytes``.
    """
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise FormatError(f"duplicate array name {dup!r}")
    start = out.tell()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for member in members:
            header = build_header(member.descr, member.shape)
            info = zipfile.ZipInfo(member.name + ".npy", date_time=_DATE)
            info.compress_type = zipfile.ZIP_STORED
            # A known size lets zipfile choose ZIP64 records when needed.
            info.file_size = len(header) + member.nbytes
            with archive.open(info, "w") as stream:
                stream.write(header)
                written = 0
                for chunk in member.chunks():
                    n = stream.write(chunk)
                    written += n
                    if progress is not None:
                        progress(n)
            if written != member.nbytes:
                raise FormatError(
                    f"{member.name}: wrote {written} bytes, expected {member.nbytes}"
                )
    return out.tell() - start
