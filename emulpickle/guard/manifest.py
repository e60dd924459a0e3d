"""The pickle manifest (lock file): which pickles a deployment may load, by sha256.

The file is JSON (Python 3.10 has no ``tomllib``, and the core adds no
dependency), written so that a diff shows one line per pinned pickle::

    {
        "emulpickle-manifest": 1,
        "pickles": [
            {
                "sha256": "9f86...",
                "path": "models/model.pt",
                "size": 1234,
                "trust": "emulate",
            },
            {"sha256": "60303...", "path": "vocab.pkl", "size": 99, "note": "reviewed"},
        ],
    }

Entries are keyed by ``sha256``; ``path``, ``size``, ``note`` and ``trust``
are optional and only ``sha256`` (and ``trust``) decide what loads: a path
or a size is what ``freeze`` saw, for the reader of the file. Loading is
strict (unknown keys, a wrong type, a duplicated hash are errors) because a
typo such as ``"trsut"`` must not silently change a policy.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .._render import bounded_repr
from ._atomic import write_atomic

__all__ = [
    "FORMAT_KEY",
    "FORMAT_VERSION",
    "TRUST_VALUES",
    "Entry",
    "Manifest",
    "ManifestError",
    "normalize_sha256",
]

#: The top-level key that names a manifest, and its value (the version).
FORMAT_KEY = "emulpickle-manifest"
FORMAT_VERSION = 1
#: What an entry's ``trust`` may be: ``"pickle"`` (a person reviewed the
#: file: load it with the real :mod:`pickle`), ``"emulate"`` (load it only
#: through emulpickle), or absent (the guard's mode decides).
TRUST_VALUES = ("pickle", "emulate")
#: A manifest bigger than this is refused unread (a million entries is ~200 MB).
MAX_MANIFEST_BYTES = 256 * 1024 * 1024

_HEX = re.compile(r"[0-9a-f]{64}")
_PREFIX = "sha256:"
_FIELDS = ("sha256", "path", "size", "note", "trust")


class ManifestError(ValueError):
    """A manifest file that cannot be read, or a value that is not valid in one."""


def normalize_sha256(text: object) -> str:
    """``text`` as 64 lowercase hex digits; accepts ``"sha256:<hex>"`` and
    upper case. Raises :class:`ManifestError` for anything else."""
    if isinstance(text, str):
        digest = text[len(_PREFIX) :] if text.lower().startswith(_PREFIX) else text
        digest = digest.lower()
        if _HEX.fullmatch(digest):
            return digest
    raise ManifestError(
        f"not a sha256 (64 hex digits, optionally 'sha256:' first): "
        f"{bounded_repr(text)}"
    )


def _lookup_key(sha256: object) -> str | None:
    """The normalised hash, or None when ``sha256`` cannot be one."""
    try:
        return normalize_sha256(sha256)
    except ManifestError:
        return None


@dataclass(frozen=True)
class Entry:
    """One pinned pickle: its ``sha256`` (normalised to lowercase hex on
    construction) and what ``freeze`` recorded about it.

    Attributes:
        sha256: the hash of the file's bytes (of the container file for torch
            zip, npz and joblib files: what the loader opens).
        path: where it was, relative to the manifest's directory when inside it.
        size: its size in bytes.
        note: free text for the reader.
        trust: None, ``"pickle"`` or ``"emulate"`` (see :data:`TRUST_VALUES`).
    """

    sha256: str
    path: str | None = None
    size: int | None = None
    note: str | None = None
    trust: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", normalize_sha256(self.sha256))
        for name in ("path", "note"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ManifestError(f"{name} must be a string: {bounded_repr(value)}")
        size = self.size
        if size is not None and (
            not isinstance(size, int) or isinstance(size, bool) or size < 0
        ):
            raise ManifestError(
                f"size must be a non-negative integer: {bounded_repr(size)}"
            )
        if self.trust is not None and self.trust not in TRUST_VALUES:
            raise ManifestError(
                f"trust must be one of {', '.join(TRUST_VALUES)}: "
                f"{bounded_repr(self.trust)}"
            )

    def to_json(self) -> dict[str, Any]:
        """The entry as the manifest stores it (absent fields left out)."""
        return {
            name: getattr(self, name)
            for name in _FIELDS
            if getattr(self, name) is not None
        }


def _entry_from_json(item: object, index: int) -> Entry:
    where = f"pickles[{index}]"
    if not isinstance(item, dict):
        raise ManifestError(f"{where} must be an object: {bounded_repr(item)}")
    unknown = sorted(set(item) - set(_FIELDS))
    if unknown:
        raise ManifestError(
            f"{where} has unknown keys {bounded_repr(unknown)} "
            f"(known: {', '.join(_FIELDS)})"
        )
    if "sha256" not in item:
        raise ManifestError(f"{where} has no sha256")
    try:
        return Entry(**item)
    except ManifestError as exc:
        raise ManifestError(f"{where}: {exc}") from None


def _dump_line(entry: Entry) -> str:
    """One entry on one line: UTF-8 as is, escaped only when it must be (a
    file name that is not valid UTF-8 decodes to lone surrogates)."""
    data = entry.to_json()
    line = json.dumps(data, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(data, ensure_ascii=True)
    return line


def _sort_key(entry: Entry) -> tuple[bool, str, str]:
    # Pathless entries last; then by path, then hash: stable across runs.
    return (entry.path is None, entry.path or "", entry.sha256)


class Manifest:
    """A set of pinned pickles, keyed by sha256 (see the module docstring)."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._entries: dict[str, Entry] = {}
        for entry in entries:
            self.add(entry)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Manifest:
        """Read a manifest file; :class:`ManifestError` when it cannot be read
        or is not a valid manifest (the message names the file and what is
        wrong)."""
        name = os.fspath(path)
        try:
            with open(name, "rb") as f:
                data = f.read(MAX_MANIFEST_BYTES + 1)
        except OSError as exc:
            raise ManifestError(f"{name}: cannot read manifest: {exc}") from exc
        if len(data) > MAX_MANIFEST_BYTES:
            raise ManifestError(
                f"{name}: manifest larger than {MAX_MANIFEST_BYTES} bytes"
            )
        try:
            return cls.from_json(data)
        except ManifestError as exc:
            raise ManifestError(f"{name}: {exc}") from None

    @classmethod
    def from_json(cls, data: bytes | str) -> Manifest:
        """Parse a manifest's text; :class:`ManifestError` when it is not one."""
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            doc = json.loads(text)
        except UnicodeDecodeError as exc:
            raise ManifestError(f"not UTF-8 text ({exc.reason})") from None
        except json.JSONDecodeError as exc:
            raise ManifestError(
                f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        except (ValueError, RecursionError) as exc:
            # Too deep, or an int with more digits than CPython converts.
            raise ManifestError(f"not a manifest: {type(exc).__name__}") from None
        if not isinstance(doc, dict):
            raise ManifestError(
                f"not a manifest: expected a JSON object, got {type(doc).__name__}"
            )
        version = doc.get(FORMAT_KEY)
        if version is None:
            raise ManifestError(f"not a manifest: no {FORMAT_KEY!r} key")
        if version != FORMAT_VERSION or isinstance(version, bool):
            raise ManifestError(
                f"unsupported manifest version {bounded_repr(version)} "
                f"(this emulpickle reads version {FORMAT_VERSION})"
            )
        unknown = sorted(set(doc) - {FORMAT_KEY, "pickles"})
        if unknown:
            raise ManifestError(f"unknown top-level keys {bounded_repr(unknown)}")
        items = doc.get("pickles", [])
        if not isinstance(items, list):
            raise ManifestError(f"'pickles' must be a list: {bounded_repr(items)}")
        manifest = cls()
        for index, item in enumerate(items):
            entry = _entry_from_json(item, index)
            if entry.sha256 in manifest._entries:
                raise ManifestError(
                    f"pickles[{index}]: sha256 {entry.sha256} is listed twice"
                )
            manifest._entries[entry.sha256] = entry
        return manifest

    def to_json(self) -> str:
        """The manifest's text: deterministic (sorted by path, then hash) and
        one entry per line, so that diffs are readable."""
        lines = [_dump_line(e) for e in sorted(self._entries.values(), key=_sort_key)]
        body = ",\n    ".join(lines)
        pickles = f"[\n    {body}\n  ]" if lines else "[]"
        return f'{{\n  "{FORMAT_KEY}": {FORMAT_VERSION},\n  "pickles": {pickles}\n}}\n'

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the manifest to ``path`` atomically (a reader sees the old
        file or the new one, never half of one)."""
        # A lock file is shared like source code: readable by all.
        write_atomic(path, self.to_json(), mode=0o644)

    def get(self, sha256: str) -> Entry | None:
        """The entry pinning ``sha256`` (``"<hex>"`` or ``"sha256:<hex>"``), or None."""
        # Hashes the guard computes are already the stored form: one dict
        # lookup on its hot path, normalising only what misses.
        found = self._entries.get(sha256)
        if found is not None:
            return found
        key = _lookup_key(sha256)
        return None if key is None else self._entries.get(key)

    def __contains__(self, sha256: object) -> bool:
        key = _lookup_key(sha256)
        return key is not None and key in self._entries

    def __iter__(self) -> Iterator[Entry]:
        """The entries in the file's order (by path, then hash)."""
        return iter(sorted(self._entries.values(), key=_sort_key))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<Manifest of {len(self._entries)} pickles>"

    def add(self, entry: Entry) -> None:
        """Pin ``entry``; it replaces an entry with the same hash."""
        if not isinstance(entry, Entry):
            raise TypeError(f"expected an Entry, got {type(entry).__name__}")
        self._entries[entry.sha256] = entry

    def remove(self, sha256: str) -> bool:
        """Unpin a hash; whether it was pinned."""
        key = _lookup_key(sha256)
        return key is not None and self._entries.pop(key, None) is not None
