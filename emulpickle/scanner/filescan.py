"""Scanning one :class:`~.targets.Target`: a :class:`FileResult`."""

from __future__ import annotations

from typing import Any

from .._frozen import FrozenValue
from ..limits import Limits
from ..registry import Registry
from .readings import scan
from .report import Finding
from .targets import Target

__all__ = ["FileResult", "scan_target"]


class FileResult(FrozenValue):
    """What scanning one target found.

    Attributes:
        file: the target's path.
        format: what the file is, by content (``"pickle"``, ``"torch-zip"``...).
        size: its size in bytes.
        sha256: its SHA-256 (hex), or None when not computed or unreadable.
        findings: every global reached, with its verdict.
        errors: what could not be read (each makes the result unclean).
    """

    _fields = ("file", "format", "size", "sha256", "findings", "errors")
    __slots__ = _fields
    file: str
    format: str
    size: int
    sha256: str | None
    findings: list[Finding]
    errors: list[str]

    def __init__(
        self,
        file: str,
        format: str,
        size: int,
        sha256: str | None = None,
        findings: list[Finding] | None = None,
        errors: list[str] | None = None,
    ) -> None:
        self._set("file", file)
        self._set("format", format)
        self._set("size", size)
        self._set("sha256", sha256)
        self._set("findings", [] if findings is None else findings)
        self._set("errors", [] if errors is None else errors)

    @property
    def clean(self) -> bool:
        """True only when every finding is safe and nothing broke."""
        return not self.errors and all(f.verdict == "safe" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "file": self.file,
            "clean": self.clean,
            "findings": [f.to_dict() for f in self.findings],
            "errors": list(self.errors),
            "sha256": self.sha256,
            "format": self.format,
            "size": self.size,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileResult:
        """The result :meth:`to_dict` made ``d`` from."""
        return cls(
            d["file"],
            d["format"],
            d["size"],
            d.get("sha256"),
            [Finding(**f) for f in d.get("findings", [])],
            list(d.get("errors", [])),
        )


def scan_target(
    target: Target,
    *,
    registry: Registry | None = None,
    limits: Limits | None = None,
    want_sha256: bool = True,
) -> FileResult:
    """Scan one target; never raises for what a file or the filesystem causes."""
    del limits  # first version: the default limits
    report = scan(target.path, registry=registry)
    sha = None
    if want_sha256:
        import hashlib

        try:
            with open(target.path, "rb") as f:
                digest = hashlib.sha256()
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
                sha = digest.hexdigest()
        except OSError:
            sha = None
    fmt = "unreadable" if sha is None and want_sha256 else "pickle"
    return FileResult(
        target.path, fmt, target.size, sha, report.findings, report.errors
    )
