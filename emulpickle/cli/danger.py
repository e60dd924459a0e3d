"""The scanner's verdict on a file ``show`` reads, in one line.

``show`` never runs what a file names, but the person reading its output
may next hand the file to ``pickle.load`` or ``torch.load``: a file naming
dangerous globals (``os.system``, ``builtins.eval``, ...) gets a warning on
standard error before anything else is printed. The verdict is
:func:`emulpickle.scan`'s on the same file (every pickle in it, including
those ``show`` does not load, like a TorchScript archive's code); however
many findings there are, the warning is one line.
"""

from __future__ import annotations

from collections import Counter

import attrs

import emulpickle

__all__ = ["Verdict", "scan_file"]

#: Dangerous globals named in the warning; the others are counted.
_NAMED = 3


@attrs.frozen
class Verdict:
    """What the scanner says about a file, grouped by global.

    Attributes:
        clean: the scan's ``clean``.
        dangerous: each dangerous finding's target and how often it occurs.
        unknown: the same for findings of unknown globals.
        errors: problems the scanner met reading the file.
        builtins_only: the scan read the whole file and found no global
            at all: what it loads is made of builtins only (lists, dicts,
            str, numbers...), never a tensor or an array, which only
            emulators reached through globals make.
    """

    clean: bool
    dangerous: dict[str, int]
    unknown: dict[str, int]
    errors: list[str]
    builtins_only: bool = False

    def warning(self, path: str) -> str | None:
        """The one-line warning for ``path``; None when nothing is dangerous."""
        if not self.dangerous:
            return None
        names = [
            emulpickle.bounded_repr(target, max_chars=80)
            + (f" (x{count})" if count > 1 else "")
            for target, count in list(self.dangerous.items())[:_NAMED]
        ]
        rest = len(self.dangerous) - len(names)
        if rest:
            names.append(f"and {rest} more")
        unknown = f", {len(self.unknown)} unknown" if self.unknown else ""
        return (
            f"warning: {path}: NOT CLEAN: it names dangerous globals "
            f"{', '.join(names)}{unknown}; pickle.load or torch.load would run "
            f"them (show ran nothing; 'emulpickle scan' lists each one)"
        )

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict: ``clean`` and the targets with their counts."""
        return {
            "clean": self.clean,
            "dangerous": dict(self.dangerous),
            "unknown": dict(self.unknown),
            "errors": list(self.errors),
        }


def scan_file(path: str) -> Verdict | None:
    """The scanner's :class:`Verdict` on ``path``; None when the scanner
    cannot read it (loading it will say why)."""
    try:
        from emulpickle.scan import scan

        report = scan(path)
    except Exception:  # unreadable or not a pickle: the load reports it
        return None
    dangerous: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    for finding in report.findings:
        if finding.verdict == "dangerous":
            dangerous[finding.target] += 1
        elif finding.verdict == "unknown":
            unknown[finding.target] += 1
    return Verdict(
        report.clean,
        dict(dangerous),
        dict(unknown),
        list(report.errors),
        builtins_only=not report.findings and not report.errors,
    )
