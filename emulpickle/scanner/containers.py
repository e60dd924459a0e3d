"""The containers pickles come in: zip and tar archives, ``.npy``, compressed files.

Each function here scans one container in a span of the input, and every
member of it the way loaders read members: a ``.npy`` image (its pickle, if
its dtype holds objects), a nested archive (to :data:`MAX_NESTING` levels),
or pickle streams (:mod:`.streams`), held to how surely the member is a
pickle. Archives are read with the shared readers of
:mod:`emulpickle.formats` (bounded by the scan's :class:`~emulpickle.Limits`);
where they lie in the input is found by :mod:`.layout`.
"""

from __future__ import annotations

import struct
from typing import Any

from .._render import bounded_repr
from ..errors import UnpicklingError
from ..formats import FormatError, SliceSource, npy
from ..formats import tar as tar_format
from ..formats import zip as zip_format
from ..formats.compressed import decompress
from ..formats.magic import HEAD_SIZE, sniff
from ..machine.opcodes import PROTO
from . import layout
from .collector import Collector
from .policy import tar_verdict
from .sevenzip import read_7z
from .streams import LEADING, MAYBE, STRICT, scan_stream
from .torchtar import scan_records

__all__ = [
    "MAX_NESTING",
    "NPY_MAGIC",
    "scan_7z",
    "scan_compressed",
    "scan_npy",
    "scan_tar",
    "scan_zips",
]

#: How deep archives inside archives are followed.
MAX_NESTING = 3
#: The first bytes of a ``.npy`` image.
NPY_MAGIC = npy.MAGIC
_STORED = 0
_DEFLATED = 8


def scan_npy(ctx: Collector, data: Any, pos: int, end: int, label: str) -> None:
    """Scan a ``.npy`` image in ``data[pos:end]``: its pickle, if it has one.

    The header is read by the one npy parser (``emulpickle.formats.npy``),
    which errs towards "may hold objects" exactly where numpy could read the
    dtype as objects (``"|O"``, ``"object"``, nested fields); a header it
    cannot read makes the verdict unclean.
    """
    try:
        header = npy.parse_header(data, pos, end)
    except FormatError as exc:
        ctx.error(f"{label}: {exc}")
        return
    if header.has_objects:
        scan_stream(ctx, data, header.data_offset, end, label, STRICT)


def _torch_storage(name: str) -> bool:
    """Whether a member is a torch.save storage: raw tensor bytes, never
    unpickled."""
    parts = name.lower().split("/")
    return len(parts) >= 2 and parts[-2] == "data" and parts[-1].isdigit()


def _looks_like_pickle(name: str, data: Any, start: int, end: int) -> bool:
    parts = name.lower().split("/")
    if parts[-1].endswith((".pkl", ".pickle")):
        return True
    if _torch_storage(name):
        return False
    return end - start >= 2 and data[start] == PROTO and data[start + 1] <= 5


def scan_zips(
    ctx: Collector, data: Any, label: str, depth: int, required: bool
) -> bool:
    """Scan every zip in ``data`` a zip reader can find by its end record.

    The last one is what zip readers take; earlier ones (zips appended to
    zips) are scanned too. Returns whether there was any. When ``required``
    (the data starts as a zip, so loaders read it as one) finding none is
    an error.
    """
    ends, more = layout.zip_ends(data)
    if not ends and required:
        _scan_zip(ctx, data, None, label, depth)  # the reader says what is wrong
    for number, (eocd, directory) in enumerate(ends, 1):
        if directory[2] == 0 and not required:
            continue  # an empty archive: nothing to read (nor a zip, maybe)
        where = label
        if number > 1:
            prefix = f"{label}/" if label else ""
            where = f"{prefix}<zip ending at offset {eocd + layout.EOCD_SIZE}>"
        _scan_zip(ctx, data, (eocd, directory), where, depth)
    if more:
        ctx.error(
            f"{label or 'input'}: more than {layout.MAX_ZIP_READINGS} zip "
            "central directories; the rest are not scanned"
        )
    return bool(ends)


def _scan_zip(
    ctx: Collector,
    data: Any,
    end: tuple[int, layout.Directory] | None,
    label: str,
    depth: int,
) -> None:
    """The zip whose end record and central directory are ``end`` (None: the
    one the zip reader finds): every member, and that none is left out."""
    span = data
    if end is not None:
        stop, base = end[0] + layout.EOCD_SIZE, end[1].base
        if base or stop != len(data):
            span = layout.Span(data, base, stop)
    # Read by slicing: no buffer export outlives a read, so the scan may
    # close its memory map.
    source = SliceSource(span)
    archive = label or "archive"
    try:
        members = zip_format.ZipArchive(
            source, max_members=ctx.limits.max_archive_members
        ).members
    except (FormatError, struct.error, UnpicklingError) as exc:
        ctx.error(f"{archive}: {exc}")
        return
    if not members:
        ctx.error(f"{archive}: no members in the central directory")
    if end is not None:
        start, size, count, _ = end[1]
        listed = layout.count_entries(data, start, start + size, count + 1)
        if len(members) < count:
            ctx.error(
                f"{archive}: the central directory lists {count} members, of "
                f"which {len(members)} could be read: the rest are not scanned"
            )
        elif listed > count:
            ctx.error(
                f"{archive}: the central directory holds more entries than the "
                f"{count} it lists (zipfile reads them all): they are not scanned"
            )
    for member in members:
        name = f"{label}/{member.name}" if label else member.name
        if member.name.endswith("/") and member.compressed_size == 0:
            continue
        if layout.link_escapes(member.name):
            # Loaders never extract a model's zip, but whoever unpacks it
            # may write there; it is scanned all the same (in memory).
            ctx.error(
                f"{archive}: member name {bounded_repr(member.name)} leaves the "
                "archive when extracted (path traversal)"
            )
        try:
            buf, start, stop = _read_member(ctx, span, source, member)
        except (FormatError, struct.error, UnpicklingError) as exc:
            ctx.error(f"{name}: {exc}")
            continue
        _scan_member(ctx, buf, start, stop, name, depth)


def _read_member(
    ctx: Collector, span: Any, source: SliceSource, member: zip_format.ZipMember
) -> tuple[Any, int, int]:
    """The member's bytes as ``(buffer, start, end)``: a stored member in
    place (``buffer`` is ``span``); a deflated one inflated, leniently as
    torch reads it (a truncated stream gives what it holds), within the
    scan's inflation bounds.

    Of a ``.npy`` image of plain data (an npz member) only what holds the
    header is kept: the scan reads nothing else of it. It is still inflated
    to its end, a piece at a time, so that it is checked and counted as
    any other member.
    """
    start, end = zip_format.member_span(source, member)
    if member.method == _STORED:
        return span, start, end
    if member.method != _DEFLATED:
        raise FormatError(f"unsupported compression method {member.method}")
    limit = ctx.inflate_limit(member.compressed_size)
    out = zip_format.Inflated()
    size = 0
    whole = True
    pieces = zip_format.inflate_pieces(
        source, start, end, limit, name=member.name, piece_size=_PIECE
    )
    for piece in pieces:
        size += len(piece)
        if whole:
            out += piece
            if len(out) >= _NPY_HEAD and _plain_npy(out):
                whole = False
                del out[_NPY_HEAD:]
    ctx.inflated += size
    return out, 0, len(out)


#: How much a deflated member is inflated at a time.
_PIECE = 1 << 20
#: How much of a ``.npy`` image holds its header, whatever it is.
_NPY_HEAD = npy.PREFIX_SIZE + npy.MAX_HEADER_SIZE


def _plain_npy(data: Any) -> bool:
    """Whether ``data`` starts as a ``.npy`` image whose header says it holds
    no objects (so no pickle)."""
    if data[:6] != NPY_MAGIC:
        return False
    try:
        return not npy.parse_header(data, 0, _NPY_HEAD).has_objects
    except FormatError:
        return False  # scanned whole, as before: the same error then


def scan_tar(
    ctx: Collector, data: Any, label: str, depth: int, required: bool = True
) -> None:
    """A tar archive: every member, and old torch.save's storages/tensors
    members the way torch reads them (pickles between raw records).

    Links and special files are findings: torch's tar loader extracts its
    members and opens them, following a link to wherever it points. When
    not ``required`` (the data need not be a tar), an unreadable archive is
    no error: it is no tar.
    """
    try:
        members = tar_format.read_members(
            SliceSource(data), max_members=ctx.limits.max_archive_members
        )
    except (FormatError, UnpicklingError) as exc:
        if required:
            ctx.error(f"{label or 'tar archive'}: {exc}")
        return
    torch_layout = "pickle" in members
    for member in members.values():
        name = f"{label}/{member.name}" if label else member.name
        if not member.regular:
            _tar_special(ctx, data, member.offset, name)
            continue
        start, end = member.offset, member.offset + member.size
        if torch_layout and member.name in ("storages", "tensors"):
            scan_records(ctx, data, start, end, name, member.name)
        else:
            _scan_member(ctx, data, start, end, name, depth)


def _tar_special(ctx: Collector, data: Any, offset: int, where: str) -> None:
    """A finding for a tar member that is a link or a special file."""
    special = layout.tar_special(data, offset)
    if special is None:
        return  # a directory
    via, target = special
    verdict, note = tar_verdict(via, target)
    header = offset - tar_format.BLOCK
    ctx.add((None, target, via), (None, target, via, header, where, verdict, note))


#: Kinds of :func:`~emulpickle.formats.magic.sniff` that a member is
#: unpacked as (a nested archive, or a compressed stream) rather than read
#: as a pickle. zlib, lzma and joblib's own format are left out: their one-
#: or two-byte magic numbers start ordinary pickles too.
_NESTED = ("zip", "tar", "7z", "gzip", "bz2", "xz", "zstd")


def _scan_member(
    ctx: Collector, data: Any, start: int, end: int, name: str, depth: int
) -> None:
    """An archive member in ``data[start:end]``, read as loaders read it."""
    head = bytes(data[start : min(end, start + HEAD_SIZE)])
    if head[:6] == NPY_MAGIC:
        scan_npy(ctx, data, start, end, f"{name} (npz member)")
        return
    kind = sniff(head, end - start)
    if kind == "zip" and head[:4] != b"PK\x03\x04":
        kind = "pickle"  # an empty zip: nothing in it, read as before
    if kind not in ("zip", "tar") and _torch_storage(name):
        kind = "pickle"  # raw tensor bytes: any magic there is chance
    if kind not in _NESTED:
        how = STRICT if _looks_like_pickle(name, data, start, end) else MAYBE
        scan_stream(ctx, data, start, end, name, how)
        return
    if depth >= MAX_NESTING:
        what = "archive" if kind in ("zip", "tar", "7z") else "stream"
        ctx.error(
            f"{name}: a {kind} {what} nested more than {MAX_NESTING} deep: not scanned"
        )
        return
    inner = data[start:end] if start or end != len(data) else data
    if kind == "zip":
        scan_zips(ctx, inner, name, depth + 1, True)
    elif kind == "tar":
        scan_tar(ctx, inner, name, depth + 1)
    elif kind == "7z":
        scan_7z(ctx, inner, name, depth + 1)
    elif not scan_compressed(ctx, inner, kind, name, depth + 1):
        # Two bytes of gzip magic start other data too: read as before.
        how = STRICT if _looks_like_pickle(name, data, start, end) else MAYBE
        scan_stream(ctx, data, start, end, name, how)


def scan_7z(ctx: Collector, data: Any, label: str, depth: int) -> None:
    """A 7z archive: every member, as a zip member is read (see :mod:`.sevenzip`)."""

    def member(name: str, buf: bytes) -> None:
        where = f"{label}/{name}" if label else name
        _scan_member(ctx, buf, 0, len(buf), where, depth)

    read_7z(ctx, data, label, member)


def scan_compressed(
    ctx: Collector, data: Any, kind: str, label: str = "", depth: int = 0
) -> bool:
    """Scan a compressed file (joblib's compressions, zstd) or archive
    member (``label`` names it): the pickle stream it decompresses to, or
    the archive (a ``.tar.gz`` of a model) with the pickle a loader would
    read at its start.

    Returns False, with no error, for a member that does not decompress (it
    is then no compressed stream); a bound passed is an error all the same.
    """
    what = f"{label}: {kind}-compressed" if label else f"{kind}-compressed file"
    if kind == "lz4":
        ctx.error(f"{what} (joblib): lz4 is not supported by the scanner")
        return True
    try:
        buf = decompress(data, kind, ctx.inflate_limit(len(data)))
    except FormatError as exc:
        if label and exc.limit is None and "bomb" not in str(exc):
            return False
        ctx.error(f"{what}: {exc}")
        if not label and kind in ("zlib", "compat"):
            # One or two letters of magic: text starts so too.
            ctx.unparsed, ctx.unparsed_at = (ctx.errors or [""])[-1], 0
        return True
    ctx.inflated += len(buf)
    stream = f"{label} ({kind}-compressed)" if label else f"{kind}-compressed stream"
    if not buf:
        ctx.error(f"{stream}: empty")
        return True
    inner = sniff(bytes(buf[:HEAD_SIZE]), len(buf))
    if not label:
        ctx.inner = inner
    if inner in ("zip", "tar", "7z") and kind != "compat":
        if depth >= MAX_NESTING:
            ctx.error(f"{stream}: a {inner} archive nested too deep: not scanned")
            return True
        if inner == "zip":
            scan_zips(ctx, buf, stream, depth + 1, True)
        elif inner == "tar":
            scan_tar(ctx, buf, stream, depth + 1)
        else:
            scan_7z(ctx, buf, stream, depth + 1)
        scan_stream(ctx, buf, 0, len(buf), stream, LEADING)
        return True
    # joblib before 0.10 ("compat") reads its arrays from separate files.
    scan_stream(ctx, buf, 0, len(buf), stream, STRICT, as_joblib=kind != "compat")
    return True
