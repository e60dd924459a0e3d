"""What one scan has found so far: findings merged by name, errors, inflation.

Every reader of the scanner reports into one :class:`Collector`: the
globals a walk recorded (judged by :mod:`.policy`, each verdict asked once),
other findings, and errors. It also keeps the scan's inflation budget, the
same bounds loaders keep (:class:`~emulpickle.Limits`), so that a zip or
decompression bomb becomes an error, not a hang.
"""

from __future__ import annotations

from typing import Any

from ..formats.zip import RATIO_FLOOR
from ..limits import DEFAULT_LIMITS, Limits
from ..registry import Registry
from .policy import build_verdict, classify
from .report import Finding
from .walk import BUILD_VIA, Refs

__all__ = ["MAX_INFLATED_MEMBER", "Collector"]

#: The most one deflated member or compressed stream may inflate to. Loaders
#: bound only their running total (``Limits.max_inflated_bytes``); the scan
#: also holds each inflated member whole in memory while it walks it, so one
#: member is bounded further.
MAX_INFLATED_MEMBER = 256 << 20
#: Distinct findings one scan lists (past it: an error says some are not).
_MAX_FINDINGS = 100_000
_MAX_ERRORS = 1000
_EXT_NOTE = (
    "extension code not in this process's copyreg registry; "
    "the loader's registry decides"
)

#: A finding before it is counted: module, name, via, offset, where,
#: verdict, note.
FindingFields = tuple[str | None, str | None, str, int, str, str, str]


class Collector:
    """What one scan has found so far.

    Findings are merged by what they name: a global (or BUILD key, or link
    target) reached from many pickles, say every member of a 50,000-member
    zip, is one finding that counts them, so the report (and the scan's
    memory) grows with the distinct names found, never with the members.

    Attributes:
        registry: what counts as safe.
        limits: the bounds on inflation and archive members.
        errors: what could not be read, in the order found.
        inflated: bytes inflated so far (deflated members, compressed files).
        unparsed: the error saying the input's own first reading failed at
            its first bytes without naming anything (``""`` if none): all
            there is to say of a file that is no pickle at all.
        unparsed_at: the offset where that reading failed.
        inner: what a compressed input decompressed to (a kind of
            :func:`~emulpickle.formats.magic.sniff`; ``""`` if not one).
    """

    __slots__ = (
        "cache",
        "errors",
        "inflated",
        "inner",
        "limits",
        "merged",
        "registry",
        "unparsed",
        "unparsed_at",
    )

    def __init__(self, registry: Registry, limits: Limits = DEFAULT_LIMITS) -> None:
        self.registry = registry
        self.limits = limits
        self.errors: list[str] = []
        self.inflated = 0
        self.unparsed = ""
        self.unparsed_at = -1
        self.inner = ""
        self.cache: dict[tuple[str | None, str | None, bool], tuple[str, str]] = {}
        # key -> [module, name, via, offset, where, verdict, note, pickles, count]
        self.merged: dict[tuple[object, ...], list[Any]] = {}

    def error(self, message: str) -> None:
        """Record that something could not be read (the report is unclean)."""
        if len(self.errors) < _MAX_ERRORS:
            self.errors.append(message)

    def inflate_limit(self, compressed: int) -> int:
        """How far a stream of ``compressed`` bytes may inflate: as loaders
        allow (``Limits.max_inflate_ratio`` beyond 1 MiB, and what is left
        of ``Limits.max_inflated_bytes``), and at most
        :data:`MAX_INFLATED_MEMBER`."""
        ratio = max(RATIO_FLOOR, self.limits.max_inflate_ratio * compressed)
        left = self.limits.max_inflated_bytes - self.inflated
        return max(0, min(MAX_INFLATED_MEMBER, left, ratio))

    def add(
        self, key: tuple[object, ...], finding: FindingFields, count: int = 1
    ) -> None:
        """One finding (module, name, via, offset, where, verdict, note),
        merged with an earlier one of the same ``key``."""
        seen = self.merged.get(key)
        if seen is not None:
            seen[7] += 1
            seen[8] += count
        elif len(self.merged) < _MAX_FINDINGS:
            self.merged[key] = [*finding, 1, count]
        elif len(self.merged) == _MAX_FINDINGS:
            self.merged[key] = [*finding, 1, count]  # kept, to say this once
            self.error(f"more than {_MAX_FINDINGS} distinct findings: not all listed")

    def report(self, refs: Refs, where: str, base: int, extra: str = "") -> None:
        """The findings of one walk of the pickle ``where``, which starts at
        ``base`` (offsets are shown from there); ``extra`` is added to notes."""
        for (module, name, via, python2), (offset, count) in refs.items():
            key = (module, name, python2)
            verdict = self.cache.get(key) if via != BUILD_VIA else build_verdict(name)
            if verdict is None:
                verdict = classify(
                    module, name, registry=self.registry, python2=python2
                )
                self.cache[key] = verdict
            note = verdict[1]
            if module is None and via.startswith("EXT"):
                note = _EXT_NOTE
            if extra:
                note = f"{note}; {extra}" if note else extra
            self.add(
                (module, name, via, python2, extra),
                (module, name, via, offset - base, where, verdict[0], note),
                count,
            )

    def findings(self) -> list[Finding]:
        """The findings so far, in the order first found."""
        out = []
        for (
            module,
            name,
            via,
            offset,
            where,
            verdict,
            note,
            pickles,
            count,
        ) in self.merged.values():
            if pickles > 1:
                more = f"{count} times in {pickles} places (the first is shown)"
            else:
                more = f"{count} times" if count > 1 else ""
            if more:
                note = f"{note}; {more}" if note else more
            out.append(Finding(module, name, via, offset, where, verdict, note))
        return out
