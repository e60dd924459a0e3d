"""The process-wide guard and pickle manifests.

:mod:`emulpickle.guard.manifest` reads and writes the lock file that pins
the pickles a deployment may load, by sha256; :mod:`emulpickle.guard.hashing`
hashes files, with a per-user cache of verified hashes.
"""

from __future__ import annotations

from .hashing import HashCache, default_cache, sha256_bytes, sha256_file
from .manifest import Entry, Manifest, ManifestError

__all__ = [
    "Entry",
    "HashCache",
    "Manifest",
    "ManifestError",
    "default_cache",
    "sha256_bytes",
    "sha256_file",
]
