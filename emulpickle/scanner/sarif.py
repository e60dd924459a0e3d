"""Scan results as SARIF 2.1.0, for code-scanning dashboards.

One run, one tool (``emulpickle``, its version and a rule per kind of
result: ``dangerous-global``, ``unknown-global`` and ``unreadable``), one
result per finding that is not safe and per error. Levels: ``error`` for a
dangerous finding and for a file that could not be read, ``warning`` for an
unknown one. A location's ``artifactLocation.uri`` is the file relative to
the working directory (``uriBaseId`` ``%SRCROOT%``) when it is under it, its
absolute ``file://`` URI otherwise, or the URL it was scanned from; the
region's ``byteOffset`` is given when the finding's offset is one in the file
itself (a plain pickle's first stream).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .filescan import FileResult
from .report import Finding

__all__ = ["RULES", "SARIF_SCHEMA", "SARIF_VERSION", "sarif_document"]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

#: Rule id -> (short description, full description, level).
RULES = {
    "dangerous-global": (
        "A pickle reaches dangerous code",
        "The file names a global that reaches process, filesystem, network, "
        "import or code-evaluation machinery (or plants behaviour on an "
        "object): loading it with pickle runs that code.",
        "error",
    ),
    "unknown-global": (
        "A pickle names a global outside the allowlist",
        "The file names a global that no registered emulator answers: "
        "loading it imports and may call code that was not reviewed.",
        "warning",
    ),
    "unreadable": (
        "A file could not be scanned to the end",
        "The file is unreadable, truncated, or breaks a limit, so what it "
        "could load is not known.",
        "error",
    ),
}


def _uri(path: str, cwd: str) -> tuple[str, str | None]:
    """The artifact URI of ``path`` and its base id (None: absolute)."""
    if "://" in path:
        return path, None
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute, cwd)
    if rel != os.pardir and not rel.startswith(os.pardir + os.sep):
        return quote(Path(rel).as_posix()), "%SRCROOT%"
    return Path(absolute).as_uri(), None


def _location(
    result: FileResult, cwd: str, offset: int | None = None
) -> dict[str, Any]:
    uri, base = _uri(result.file, cwd)
    artifact: dict[str, Any] = {"uri": uri}
    if base is not None:
        artifact["uriBaseId"] = base
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if offset is not None:
        physical["region"] = {"byteOffset": offset}
    return {"physicalLocation": physical}


def _finding(result: FileResult, f: Finding, cwd: str) -> dict[str, Any]:
    rule = "dangerous-global" if f.verdict == "dangerous" else "unknown-global"
    where = f" in {f.where}" if f.where else ""
    note = f": {f.note}" if f.note else ""
    text = f"{f.verdict} {f.target} ({f.via} at offset {f.offset}{where}){note}"
    in_file = result.format == "pickle" and f.where == "pickle #1"
    return {
        "ruleId": rule,
        "ruleIndex": list(RULES).index(rule),
        "level": RULES[rule][2],
        "message": {"text": text},
        "locations": [_location(result, cwd, f.offset if in_file else None)],
        "properties": {
            "verdict": f.verdict,
            "via": f.via,
            "where": f.where,
            "format": result.format,
            "sha256": result.sha256,
        },
    }


def _error(result: FileResult, message: str, cwd: str) -> dict[str, Any]:
    return {
        "ruleId": "unreadable",
        "ruleIndex": list(RULES).index("unreadable"),
        "level": "error",
        "message": {"text": f"{result.file}: {message}"},
        "locations": [_location(result, cwd)],
        "properties": {"format": result.format, "sha256": result.sha256},
    }


def sarif_document(
    results: Iterable[FileResult], *, cwd: str | None = None
) -> dict[str, Any]:
    """The SARIF 2.1.0 log of ``results`` (a JSON-ready dict)."""
    import emulpickle

    base = os.path.abspath(cwd if cwd is not None else os.getcwd())
    out: list[dict[str, Any]] = []
    for result in results:
        out.extend(
            _finding(result, f, base) for f in result.findings if f.verdict != "safe"
        )
        out.extend(_error(result, message, base) for message in result.errors)
    rules = [
        {
            "id": rule_id,
            "name": "".join(part.title() for part in rule_id.split("-")),
            "shortDescription": {"text": short},
            "fullDescription": {"text": full},
            "defaultConfiguration": {"level": level},
        }
        for rule_id, (short, full, level) in RULES.items()
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "emulpickle",
                        "version": emulpickle.__version__,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(base).as_uri() + "/"}},
                "results": out,
            }
        ],
    }
