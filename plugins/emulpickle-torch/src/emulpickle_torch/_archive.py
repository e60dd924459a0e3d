"""torch.save's zip and tar containers, read with :mod:`emulpickle.formats`.

The readers' :class:`~emulpickle.formats.FormatError` becomes
:class:`emulpickle.LimitExceededError` (a bound of the load's
:class:`emulpickle.Limits` was hit) or :class:`TorchFormatError` (the
container is malformed or hostile), also for records read lazily after
``load`` returned.
"""

from __future__ import annotations

from typing import Any

from emulpickle import LimitExceededError, Limits, UnpicklingError
from emulpickle.formats import FormatError
from emulpickle.formats import tar as _tar
from emulpickle.formats.zip import ZipArchive, ZipMember

from .errors import TorchFormatError

__all__ = ["TorchZip", "read_tar_members", "translate"]


def translate(exc: FormatError) -> UnpicklingError:
    """The emulpickle error for a reader's :class:`FormatError`."""
    if exc.limit is not None:
        return LimitExceededError(str(exc), limit=exc.limit)
    return TorchFormatError(str(exc))


class TorchZip:
    """The records of a torch.save zip archive, read within one load's bounds.

    Args:
        source: the file's bytes (a :class:`~emulpickle.formats.ByteSource`).
        limits: bound the member count (``max_archive_members``), the bytes
            inflated in all (``max_inflated_bytes``, counted over this
            object's life, lazy reads included) and per record
            (``max_inflate_ratio``).
        max_inflate: the most bytes one record may inflate to.
    """

    def __init__(self, source: Any, limits: Limits, max_inflate: int) -> None:
        try:
            self.archive = ZipArchive(
                source,
                max_members=limits.max_archive_members,
                max_inflated_bytes=limits.max_inflated_bytes,
                max_inflate_ratio=limits.max_inflate_ratio,
            )
        except FormatError as exc:
            raise translate(exc) from None
        self.max_inflate = max_inflate

    def names(self) -> list[str]:
        """Every record name, in directory order."""
        return self.archive.names()

    def get(self, name: str) -> ZipMember | None:
        """The record called ``name``; a name listed twice is refused."""
        try:
            return self.archive.get(name)
        except FormatError as exc:
            raise translate(exc) from None

    def check(self, member: ZipMember) -> tuple[int, int]:
        """Validate a record's header, range, method and size without reading it.

        Returns where its (possibly compressed) bytes lie in the file.
        """
        try:
            return self.archive.check(member, max_size=self.max_inflate)
        except FormatError as exc:
            raise translate(exc) from None

    def is_stored(self, member: ZipMember) -> bool:
        """Whether the record is stored uncompressed (read without a copy)."""
        return member.method == 0

    def read(self, member: ZipMember) -> memoryview:
        """The record's bytes (zero-copy for stored records of a mapped file)."""
        try:
            return self.archive.read(member, max_size=self.max_inflate)
        except FormatError as exc:
            raise translate(exc) from None


def read_tar_members(source: Any, limits: Limits) -> dict[str, _tar.TarMember]:
    """The members of a legacy tar checkpoint, by name."""
    try:
        return _tar.read_members(source, max_members=limits.max_archive_members)
    except FormatError as exc:
        raise translate(exc) from None
