"""``emulpickle scan``: which globals files name, against an allowlist.

Each file is scanned, not loaded (:func:`emulpickle.scan`); dangerous
findings are listed first. Exit status 0 when every file is clean, 1 when
something is not, 2 when a file cannot be read (the others are still
scanned).
"""

from __future__ import annotations

import argparse
import sys
import traceback

from .inputs import display_name, is_stdin, stdin_bytes
from .jsonwrite import dump
from .output import CliError, one_line, print_error

__all__ = ["run"]

_ORDER = {"dangerous": 0, "unknown": 1, "safe": 2}


def run(args: argparse.Namespace) -> int:
    """Run ``emulpickle scan`` (see :func:`emulpickle.cli.parser.build_parser`)."""
    try:
        from emulpickle.scan import scan
    except ImportError as exc:
        raise CliError(f"scanning is not available: {exc}") from None
    status = 0
    results: list[dict[str, object]] = []
    for path in args.files:
        try:
            if is_stdin(path):
                report = scan(stdin_bytes())
            else:
                with open(path, "rb"):
                    pass
                report = scan(path)
        except Exception as exc:  # unreadable: report it, scan the rest
            if getattr(args, "debug", False):
                traceback.print_exc()
            prefix = "" if isinstance(exc, OSError) else f"{path}: "
            print_error(f"{prefix}{one_line(exc)}")
            status = 2
            results.append({"file": path, "error": str(exc)})
            continue
        if not report.clean:
            status = max(status, 1)
        findings = sorted(report.findings, key=lambda f: _ORDER.get(f.verdict, 1))
        if args.json:
            results.append({"file": path, **report.to_dict()})
            continue
        verdict = "clean" if report.clean else "NOT CLEAN"
        print(f"{display_name(path)}: {verdict}")
        for f in findings:
            if f.verdict == "safe" and not args.all:
                continue
            where = f" in {f.where}" if f.where else ""
            note = f" - {f.note}" if f.note else ""
            print(
                f"  {f.verdict:<9} {f.target} "
                f"({f.via} at offset {f.offset}{where}){note}"
            )
        safe = sum(1 for f in findings if f.verdict == "safe")
        if safe and not args.all:
            print(f"  ({safe} safe global{'s' if safe != 1 else ''} not listed)")
        for message in report.errors:
            print(f"  error: {message}")
    if args.json:
        dump({"clean": status == 0, "files": results}, sys.stdout, indent=2)
    return status
