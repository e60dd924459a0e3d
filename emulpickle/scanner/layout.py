"""Where the readings of one input lie, for the scanner.

Loaders pick their reading of a file by its first bytes (``torch.load``: a
zip local header at offset 0, else a tar at offset 0, else a pickle there;
``numpy.load``, ``joblib.load``: their magic numbers, else a pickle), while
``zipfile`` finds a zip by its end-of-central-directory record at the end of
the file, however much comes before it. So one file can be read several
ways (a pickle with a torch zip behind it is a pickle to ``torch.load`` and
a zip to ``zipfile``), and the scanner scans every one. This
module finds them without trusting any offset or size: the zips (by their
end records, as zip readers search for them), and the links and special
files a tar archive would make when extracted.

It only reads: the archives themselves are read by
:mod:`emulpickle.formats.zip` and :mod:`emulpickle.formats.tar`.
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

__all__ = [
    "EOCD_SIZE",
    "MAX_ZIP_READINGS",
    "Directory",
    "Span",
    "central_directory",
    "count_entries",
    "link_escapes",
    "tar_special",
    "zip_ends",
]

_EOCD = b"PK\x05\x06"
_CENTRAL = b"PK\x01\x02"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
#: Size of an end-of-central-directory record without its comment.
EOCD_SIZE = 22
#: Zip readers search this far back from the end for the record (the
#: longest comment): Python's ``zipfile``, miniz (torch), libzip.
_SEARCH = EOCD_SIZE + 0xFFFF
#: How many distinct central directories one input may hold before the scan
#: gives up on the rest (and says so): a real file has one.
MAX_ZIP_READINGS = 8
#: How many end-record signatures are looked at, from the end. Zip readers
#: take the last one only (and fail if it is no end record); the scan also
#: reads earlier ones, for zips appended to zips, but no further than this,
#: so that a window packed with signatures costs little.
_MAX_CANDIDATES = 64

#: Tar type flags of members that are not plain files or directories.
_TAR_LINKS = {b"1": "HARDLINK", b"2": "SYMLINK"}
_TAR_SPECIAL = {b"3": "character device", b"4": "block device", b"6": "fifo"}


class Span:
    """``data[start:end]`` without a copy, for the readers: offsets in the
    zip reader's answers are then offsets from ``start`` (where the archive
    begins, when data comes before it) and the end record it finds is the
    one at ``end - EOCD_SIZE``."""

    __slots__ = ("data", "end", "start")

    def __init__(self, data: Any, start: int, end: int) -> None:
        self.data = data
        self.start = start
        self.end = end

    def __len__(self) -> int:
        return self.end - self.start

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            low, high, step = index.indices(self.end - self.start)
            return self.data[self.start + low : self.start + high : step]
        if index < 0:
            index += self.end - self.start
        if not 0 <= index < self.end - self.start:
            raise IndexError("index out of range")
        return self.data[self.start + index]

    def _find(self, sub: bytes, start: int | None, end: int | None, last: bool) -> int:
        low, high = slice(start, end).indices(self.end - self.start)[:2]
        search = self.data.rfind if last else self.data.find
        pos = int(search(sub, self.start + low, self.start + high))
        return pos - self.start if pos >= 0 else -1

    def find(self, sub: bytes, start: int | None = None, end: int | None = None) -> int:
        """``bytes.find`` within the span."""
        return self._find(sub, start, end, False)

    def rfind(
        self, sub: bytes, start: int | None = None, end: int | None = None
    ) -> int:
        """``bytes.rfind`` within the span."""
        return self._find(sub, start, end, True)


class Directory(NamedTuple):
    """Where a zip's central directory lies, as its end record says.

    Attributes:
        start: where its first entry is, in the data.
        size: its size in bytes.
        entries: how many entries the end record declares.
        base: where the archive starts (its offsets count from there):
            bytes before it (a pickle, a shell script) shift it.
    """

    start: int
    size: int
    entries: int
    base: int


def central_directory(data: Any, eocd: int) -> Directory | None:
    """The central directory that the end record at ``eocd`` describes (ZIP64
    aware), or None when it does not lie where the record says, counting
    from the start of the data or, as ``zipfile`` does, from where the
    archive starts when data comes before it."""
    size = len(data)
    if eocd + EOCD_SIZE > size:
        return None
    count, cd_size, cd_offset = struct.unpack("<HII", data[eocd + 10 : eocd + 20])
    record = eocd
    locator = eocd - 20
    if locator >= 0 and data[locator : locator + 4] == _ZIP64_LOCATOR:
        # The locator's offset is wrong by whatever came before the archive;
        # zipfile takes the ZIP64 record right before the locator instead.
        at = struct.unpack("<Q", data[locator + 8 : locator + 16])[0]
        for pos in (at, locator - 56):
            if 0 <= pos <= size - 56 and data[pos : pos + 4] == _ZIP64_EOCD:
                count, cd_size, cd_offset = struct.unpack(
                    "<QQQ", data[pos + 32 : pos + 56]
                )
                record = pos
                break
    for base in (max(0, record - cd_size - cd_offset), 0):
        start = base + cd_offset
        if start + 4 <= size and data[start : start + 4] == _CENTRAL:
            return Directory(start, cd_size, count, base)
    if count == 0 and cd_size == 0:
        return Directory(record, 0, 0, 0)  # an empty archive
    return None


def zip_ends(data: Any) -> tuple[list[tuple[int, Directory]], bool]:
    """The end records a zip reader could take, last first, each with its
    central directory (see :func:`central_directory`), and whether more
    distinct central directories than ``MAX_ZIP_READINGS`` were left out.

    Only records whose central directory is where they say are kept (an end
    record's signature in other data is no zip); of several records naming
    the same central directory, the last.
    """
    size = len(data)
    low = max(0, size - _SEARCH)
    end = size
    found: list[tuple[int, Directory]] = []
    starts: set[int] = set()
    for _ in range(_MAX_CANDIDATES):
        pos = int(data.rfind(_EOCD, low, end))
        if pos < 0:
            break
        end = pos + 3  # the next search may overlap this record
        cd = central_directory(data, pos)
        if cd is None or cd.start in starts:
            continue
        if len(found) == MAX_ZIP_READINGS:
            return found, True
        starts.add(cd.start)
        found.append((pos, cd))
    return found, False


def count_entries(data: Any, start: int, stop: int, most: int) -> int:
    """How many central-directory signatures lie in ``data[start:stop]``,
    counting no further than ``most``."""
    n = 0
    pos = start
    stop = min(stop, len(data))
    while n < most:
        pos = int(data.find(_CENTRAL, pos, stop))
        if pos < 0:
            break
        n += 1
        pos += 4
    return n


def tar_special(data: Any, offset: int) -> tuple[str, str] | None:
    """What the tar member whose data starts at ``offset`` is, when it is no
    plain file or directory: ``("SYMLINK" | "HARDLINK", target)`` or
    ``("SPECIAL", kind)``; None otherwise.

    The target is the header's link field (a PAX ``linkpath`` or GNU long
    link, which would override it, leaves it empty or different: the caller
    judges an empty one as unknown).
    """
    header = offset - 512
    if header < 0:
        return None
    block = bytes(data[header : header + 512])
    kind = block[156:157]
    if kind in _TAR_LINKS:
        target = block[157:257].split(b"\0", 1)[0]
        return _TAR_LINKS[kind], target.decode("utf-8", "surrogateescape")
    if kind in _TAR_SPECIAL:
        return "SPECIAL", _TAR_SPECIAL[kind]
    return None


def link_escapes(target: str) -> bool:
    """Whether a link to ``target``, extracted into a directory, may point
    outside it: absolute, a drive, or any ``..`` (a link to a link to ``.``
    turns a harmless-looking ``..`` into an escape, so none is trusted); an
    empty target (set by an extended header the scan does not read) is not
    trusted either."""
    if not target or target.startswith(("/", "\\")) or target[1:2] == ":":
        return True
    return ".." in target.replace("\\", "/").split("/")
