"""Pickle streams: the stacked pickles in a span of bytes, walked as loaders read them.

A stream is walked pickle after pickle (``pickle.load`` called again and
again), as the legacy ``torch.save`` layout is read (five pickles, then raw
storage bytes), and, when it names joblib's array wrapper, also as
``joblib.load`` reads it (array data skipped, see :mod:`.joblib`). How much
a stream's errors count depends on how sure the caller is that the bytes
are a pickle at all (:data:`STRICT`, :data:`MAYBE`, :data:`LEADING`).
"""

from __future__ import annotations

from typing import Any

from ..machine.opcodes import LONG1
from . import joblib
from .collector import Collector
from .walk import Broken, Refs, names_wrapper, walk

__all__ = ["LEADING", "MAYBE", "STRICT", "scan_stream"]

#: How sure :func:`scan_stream` is that its bytes are a pickle: a loader
#: reads them as one (errors count); they may be one (kept only when real
#: names are found); or they are what a pickle loader reads at the start of
#: a file that is also something else (kept when the first pickle is whole,
#: or real names are found).
STRICT = "strict"
MAYBE = "maybe"
LEADING = "leading"

#: The first pickle of a legacy (pre-zip) ``torch.save`` file holds this.
_TORCH_LEGACY_MAGIC = bytes((LONG1, 10)) + (0x1950A86A20F9469CFC6C).to_bytes(
    10, "little"
)
_PLAIN_NOTE = "reached only when the file is read by pickle.load, not joblib.load"

#: What each pickle of a stream names, with its ``where``.
Found = list[tuple[Refs, str]]


def _real_name(module: str | None, name: str | None) -> bool:
    """Whether ``module.name`` looks like a real global (not parsed from noise)."""
    if module is None or name is None:
        return False
    return all(p.isidentifier() for p in module.split(".")) and all(
        p.isidentifier() for p in name.split(".")
    )


def _plausible(refs: Refs) -> bool:
    """Whether a walk over data that does not look like a pickle found real names."""
    return any(_real_name(module, name) for module, name, _, _ in refs)


def _chain(
    data: Any, pos: int, end: int, label: str, as_joblib: bool, before_zip: bool
) -> tuple[Found, str, bool, int]:
    """Walk the stacked pickles in ``data[pos:end]``.

    Returns what each pickle names (with its ``where``), the error that ended
    the walk (``""`` if none), whether a pickle names joblib's array
    wrapper, and where the walk broke (from ``pos``; -1 if it did not).
    With ``as_joblib``, such pickles are walked as ``joblib.load`` reads
    them: array data after each wrapper is skipped. With ``before_zip`` (a
    zip follows, scanned as such), the walk ends where a zip record starts:
    a pickle loader reading on fails there at once
    (PERSID, with no persistent_load for a first pickle).
    """
    number = 0
    legacy = False
    base = pos
    found: Found = []
    wrapper = False
    while pos < end:
        if number and before_zip and data[pos : pos + 2] == b"PK":
            break
        number += 1
        if label:
            where = label if number == 1 else f"{label} (pickle #{number})"
        else:
            where = f"pickle #{number}"
        refs: Refs = {}
        found.append((refs, where))
        broken: Broken | None = None
        after = end
        try:
            after = walk(data, pos, end, refs)
        except Broken as exc:
            broken = exc
        if names_wrapper(refs):
            wrapper = True
            if as_joblib:
                refs.clear()
                broken = None
                try:
                    after = joblib.walk(data, pos, end, refs)
                except Broken as exc:
                    broken = exc
        if broken is not None:
            offset = broken.offset - base
            error = f"{where}: {broken.reason} (at offset {offset})"
            return found, error, wrapper, offset
        if number == 1 and after - pos <= 32 and _TORCH_LEGACY_MAGIC in data[pos:after]:
            legacy = True
        if legacy and number == 5:
            break  # legacy torch.save: raw storage bytes follow
        pos = after
    return found, "", wrapper, -1


def _plain_only(plain: Found, as_joblib: Found) -> Found:
    """What a plain pickle reader reaches that joblib's reading does not.

    Only real-looking names are kept: beyond the first array, a plain reader
    walks through array bytes, and noise there is no finding.
    """
    # The same opcode, whatever protocol each reading had reached.
    seen = {(key[:3], hits[0]) for refs, _ in as_joblib for key, hits in refs.items()}
    extra: Found = []
    for refs, where in plain:
        only = {
            key: hits
            for key, hits in refs.items()
            if (key[:3], hits[0]) not in seen and _real_name(key[0], key[1])
        }
        if only:
            extra.append((only, where))
    return extra


def scan_stream(
    ctx: Collector,
    data: Any,
    pos: int,
    end: int,
    label: str,
    how: str,
    as_joblib: bool = True,
    before_zip: bool = False,
) -> None:
    """Scan the stacked pickles in ``data[pos:end]``.

    ``label`` names the stream (``""`` for the input itself); ``how`` is one
    of :data:`STRICT`, :data:`MAYBE`, :data:`LEADING`. A stream naming
    joblib's array wrapper is scanned as ``joblib.load`` reads it (unless not
    ``as_joblib``), plus whatever else a plain pickle reader would reach.
    ``before_zip``: see :func:`_chain`.
    """
    found, error, wrapper, broke = _chain(data, pos, end, label, False, before_zip)
    extra: Found = []
    if wrapper and as_joblib:
        plain = found
        found, error, _, broke = _chain(data, pos, end, label, True, before_zip)
        extra = _plain_only(plain, found)
    if how != STRICT and not any(_plausible(refs) for refs, _ in found + extra):
        whole = len(found) > 1 or not error
        if how == MAYBE or not whole or not any(refs for refs, _ in found):
            return  # not a pickle: bytes that happened to parse
    for refs, where in found:
        ctx.report(refs, where, pos)
    for refs, where in extra:
        ctx.report(refs, where, pos, _PLAIN_NOTE)
    if error:
        ctx.error(error)
        if not label and how == STRICT and len(found) == 1 and not found[0][0]:
            # The input's own first pickle, naming nothing: maybe no pickle.
            ctx.unparsed, ctx.unparsed_at = error, broke
