"""A scan policy file: extra allowed globals, severity overrides, what fails.

A policy is a JSON document (JSON, not TOML: the core supports Python 3.10,
which has no ``tomllib``)::

    {
        "emulpickle-scan-policy": 1,
        "allow": ["mypkg.models.*", "collections.OrderedDict"],
        "severity": {"builtins.getattr": "dangerous", "somepkg.*": "unknown"},
        "fail_on": ["dangerous", "unknown", "error"],
    }

``allow`` makes the globals it matches ``"safe"``; ``severity`` sets their
verdict (``"safe"``, ``"unknown"`` or ``"dangerous"``); ``fail_on`` says
which verdicts fail the run (``"error"``: a file that could not be read to
the end). Patterns are ``fnmatch`` globs on the global's dotted name
(``module.qualname``). A name written out in full beats any glob; among
globs the longest wins. A glob never lowers a ``"dangerous"`` verdict: only
a name written out in full can (so ``"mypkg.*"`` cannot allow
``mypkg.os.system`` or a ``__globals__`` walk by accident). Findings that
are not globals (BUILD states, tar links, names computed at load time) keep
their verdict.

The policy is applied to results after scanning (and after the result
cache), so a cached result never depends on it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from .._frozen import FrozenValue
from .._render import bounded_repr
from .filescan import FileResult
from .report import Finding

__all__ = ["FAIL_KINDS", "VERDICTS", "PolicyError", "ScanPolicy"]

#: The verdicts a finding can have (and a severity can set).
VERDICTS = ("safe", "unknown", "dangerous")
#: What ``fail_on`` may list: a verdict, or ``"error"`` (unreadable input).
FAIL_KINDS = ("dangerous", "unknown", "error")
_MAGIC = "emulpickle-scan-policy"
_KEYS = (_MAGIC, "allow", "severity", "fail_on")
#: A policy file larger than this is refused unread.
MAX_POLICY_BYTES = 4 * 1024 * 1024
_GLOB_CHARS = frozenset("*?[")


class PolicyError(ValueError):
    """A policy file that cannot be read or is not a valid policy."""


def _is_glob(pattern: str) -> bool:
    return any(c in _GLOB_CHARS for c in pattern)


class ScanPolicy(FrozenValue):
    """How findings are judged beyond the built-in allowlist, and what fails.

    Attributes:
        allow: patterns of globals that are safe.
        severity: pattern -> verdict overrides.
        fail_on: the verdicts (and ``"error"``) that make a file fail.
    """

    _fields = ("allow", "severity", "fail_on")
    __slots__ = _fields
    allow: tuple[str, ...]
    severity: tuple[tuple[str, str], ...]
    fail_on: frozenset[str]

    def __init__(
        self,
        allow: Iterable[str] = (),
        severity: Mapping[str, str] | None = None,
        fail_on: Iterable[str] = FAIL_KINDS,
    ) -> None:
        allow = tuple(_pattern(p, "allow") for p in _strings(allow, "allow"))
        rules = dict(severity or {})
        for pattern, verdict in rules.items():
            _pattern(pattern, "severity")
            if verdict not in VERDICTS:
                raise PolicyError(
                    f"severity of {bounded_repr(pattern)}: {bounded_repr(verdict)} "
                    f"is not one of {', '.join(VERDICTS)}"
                )
        for pattern in allow:
            if rules.get(pattern, "safe") != "safe":
                raise PolicyError(
                    f"{bounded_repr(pattern)} is both allowed and given severity "
                    f"{rules[pattern]!r}"
                )
        kinds = frozenset(_strings(fail_on, "fail_on"))
        unknown = kinds - set(FAIL_KINDS)
        if unknown:
            raise PolicyError(
                f"fail_on: {bounded_repr(sorted(unknown))} not among "
                f"{', '.join(FAIL_KINDS)}"
            )
        self._set("allow", allow)
        self._set("severity", tuple(sorted(rules.items())))
        self._set("fail_on", kinds)

    @classmethod
    def from_dict(cls, doc: object) -> ScanPolicy:
        """The policy a parsed JSON document describes (strictly checked)."""
        if not isinstance(doc, dict):
            raise PolicyError("a policy is a JSON object")
        if doc.get(_MAGIC) != 1:
            raise PolicyError(f'a policy starts with "{_MAGIC}": 1')
        extra = sorted(set(doc) - set(_KEYS))
        if extra:
            raise PolicyError(
                f"unknown key {bounded_repr(extra[0])} (known: {', '.join(_KEYS)})"
            )
        severity = doc.get("severity", {})
        if not isinstance(severity, dict):
            raise PolicyError("severity must be an object: pattern -> verdict")
        return cls(
            allow=_list(doc.get("allow", []), "allow"),
            severity=severity,
            fail_on=_list(doc.get("fail_on", list(FAIL_KINDS)), "fail_on"),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ScanPolicy:
        """Read a policy file; :class:`PolicyError` says what is wrong."""
        where = os.fspath(path)
        try:
            with open(where, "rb") as f:
                data = f.read(MAX_POLICY_BYTES + 1)
        except OSError as exc:
            raise PolicyError(f"{where}: {exc.strerror or exc}") from None
        if len(data) > MAX_POLICY_BYTES:
            raise PolicyError(f"{where}: larger than {MAX_POLICY_BYTES} bytes")
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise PolicyError(f"{where}: not JSON: {exc}") from None
        try:
            return cls.from_dict(doc)
        except PolicyError as exc:
            raise PolicyError(f"{where}: {exc}") from None

    def verdict(self, finding: Finding) -> tuple[str, str]:
        """The finding's verdict under this policy, and the rule that set it
        (``""`` when the policy leaves it alone)."""
        if (
            finding.module is None
            or finding.name is None
            or finding.via
            in (
                "BUILD",
                "SYMLINK",
                "HARDLINK",
                "SPECIAL",
            )
        ):
            return finding.verdict, ""
        dotted = f"{finding.module}.{finding.name}"
        best: tuple[int, str, str] | None = None
        rules = [*((p, "safe") for p in self.allow), *self.severity]
        for pattern, verdict in rules:
            if pattern == dotted:
                return verdict, pattern
            if not _is_glob(pattern) or not fnmatchcase(dotted, pattern):
                continue
            if finding.verdict == "dangerous" and verdict != "dangerous":
                continue  # a glob never lowers a dangerous verdict
            if best is None or len(pattern) > best[0]:
                best = (len(pattern), pattern, verdict)
        if best is None:
            return finding.verdict, ""
        return best[2], best[1]

    def apply(self, result: FileResult) -> FileResult:
        """``result`` with each finding's verdict set by this policy."""
        findings = []
        changed = False
        for f in result.findings:
            verdict, rule = self.verdict(f)
            if verdict != f.verdict:
                note = f"policy {bounded_repr(rule)}: was {f.verdict}"
                note = f"{note}; {f.note}" if f.note else note
                f = f.replace(verdict=verdict, note=note)
                changed = True
            findings.append(f)
        return result.replace(findings=findings) if changed else result

    def fails(self, result: FileResult) -> bool:
        """Whether ``result`` (with the policy applied) fails the run."""
        if result.errors and "error" in self.fail_on:
            return True
        return any(f.verdict in self.fail_on for f in result.findings)


def _strings(values: Iterable[str], what: str) -> list[str]:
    if isinstance(values, str):
        raise PolicyError(f"{what} must be a list of strings")
    out = list(values)
    for v in out:
        if not isinstance(v, str):
            raise PolicyError(f"{what}: {bounded_repr(v)} is not a string")
    return out


def _list(value: Any, what: str) -> list[str]:
    if not isinstance(value, list):
        raise PolicyError(f"{what} must be a list of strings")
    return _strings(value, what)


def _pattern(pattern: str, what: str) -> str:
    if not pattern or not pattern.strip() or pattern != pattern.strip():
        raise PolicyError(f"{what}: {bounded_repr(pattern)} is not a global's name")
    if pattern in ("*", "*.*"):
        raise PolicyError(f"{what}: {pattern!r} would match every global")
    return pattern
