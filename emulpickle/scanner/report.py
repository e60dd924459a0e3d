"""What a scan reports: :class:`Finding` and :class:`ScanReport`."""

from __future__ import annotations

from typing import Any

from .._frozen import FrozenValue
from .._render import bounded_repr
from .walk import BUILD_VIA

__all__ = ["Finding", "ScanReport"]

#: ``via`` of the findings that are links or special files in a tar archive.
TAR_VIAS = {"SYMLINK": "symlink", "HARDLINK": "hard link", "SPECIAL": "special file"}


class Finding(FrozenValue):
    """One global the input can reach, or another way it could run code.

    Besides globals, a finding is a BUILD whose state sets an
    emulation-protocol method or a dunder name (``via`` ``"BUILD"``,
    ``name`` the key, ``module`` None; ``name`` None when the state is made
    at load time, so its names cannot be checked), or a link in a tar
    archive (``via`` ``"SYMLINK"``/``"HARDLINK"``, ``name`` its target,
    ``module`` None), which an extracting loader would follow, or a special
    file (``via`` ``"SPECIAL"``, ``name`` its kind).

    Attributes:
        module: module part as written (None when computed at load time).
        name: qualified name as written (None when computed at load time).
        via: how it is reached: GLOBAL, STACK_GLOBAL, INST, EXT1/2/4; or
            BUILD, SYMLINK, HARDLINK, SPECIAL (see above).
        offset: byte offset of that opcode within its pickle stream.
        where: which pickle: ``"pickle #1"``, ``"archive/data.pkl"``, ...
        verdict: ``"safe"``, ``"dangerous"`` or ``"unknown"``.
        note: why, and anything else worth saying.
    """

    _fields = ("module", "name", "via", "offset", "where", "verdict", "note")
    __slots__ = _fields
    module: str | None
    name: str | None
    via: str
    offset: int
    where: str
    verdict: str
    note: str

    def __init__(
        self,
        module: str | None,
        name: str | None,
        via: str,
        offset: int,
        where: str,
        verdict: str,
        note: str = "",
    ) -> None:
        self._set("module", module)
        self._set("name", name)
        self._set("via", via)
        self._set("offset", offset)
        self._set("where", where)
        self._set("verdict", verdict)
        self._set("note", note)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(zip(self._fields, self._values(), strict=True))

    @property
    def target(self) -> str:
        """What was found, for display: ``module.name``, ``<computed name>``,
        a BUILD state key, or the kind of a tar link."""
        if self.via == BUILD_VIA:
            if self.name is None:
                return "<BUILD state made at load time>"
            return f"<BUILD state key {bounded_repr(self.name)}>"
        if self.via in TAR_VIAS:
            return f"<tar {TAR_VIAS[self.via]}>"
        if self.module is not None and self.name is not None:
            return f"{self.module}.{self.name}"
        return "<computed name>"

    def __str__(self) -> str:
        text = (
            f"{self.verdict}: {self.target} ({self.via} at {self.offset}, {self.where})"
        )
        return text + (f": {self.note}" if self.note else "")


class ScanReport(FrozenValue):
    """What :func:`scan` found.

    Attributes:
        source: the path scanned, or ``"<bytes>"``.
        findings: every global reached, with its verdict.
        errors: problems reading the input (each makes the report unclean).
    """

    _fields = ("source", "findings", "errors")
    __slots__ = _fields
    source: str
    findings: list[Finding]
    errors: list[str]

    def __init__(
        self,
        source: str,
        findings: list[Finding] | None = None,
        errors: list[str] | None = None,
    ) -> None:
        self._set("source", source)
        self._set("findings", [] if findings is None else findings)
        self._set("errors", [] if errors is None else errors)

    @property
    def clean(self) -> bool:
        """True only when every global is safe and nothing broke."""
        return not self.errors and all(f.verdict == "safe" for f in self.findings)

    @property
    def dangerous(self) -> list[Finding]:
        """The findings with a ``"dangerous"`` verdict."""
        return [f for f in self.findings if f.verdict == "dangerous"]

    @property
    def unknown(self) -> list[Finding]:
        """The findings with an ``"unknown"`` verdict."""
        return [f for f in self.findings if f.verdict == "unknown"]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: source, clean, findings, errors."""
        return {
            "source": self.source,
            "clean": self.clean,
            "findings": [f.to_dict() for f in self.findings],
            "errors": list(self.errors),
        }
