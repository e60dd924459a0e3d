"""The process-wide guard and pickle manifests.

:mod:`emulpickle.guard.manifest` reads and writes the lock file that pins
the pickles a deployment may load, by sha256; :mod:`emulpickle.guard.hashing`
hashes files, with a per-user cache of verified hashes. The guard itself:
:mod:`~.state` (the decision per load, the token API),
:mod:`~.intercept` (every entry point into an unpickler), :mod:`~.api`.

This package is callable: ``emulpickle.guard(manifest=..., mode=...)`` is
:func:`~.api.install_guard` (a function named like the package would be
replaced by the package as soon as anything imports one of its modules).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .api import install_guard, no_pickles
from .hashing import HashCache, default_cache, sha256_bytes, sha256_file
from .manifest import Entry, Manifest, ManifestError
from .state import Guard, PickleAuditWarning, allow_pickles

__all__ = [
    "Entry",
    "Guard",
    "HashCache",
    "Manifest",
    "ManifestError",
    "PickleAuditWarning",
    "allow_pickles",
    "default_cache",
    "install_guard",
    "no_pickles",
    "sha256_bytes",
    "sha256_file",
]


class _CallablePackage(types.ModuleType):
    """This package's type: calling it installs the guard."""

    def __call__(self, *args: Any, **kwargs: Any) -> Guard:
        return install_guard(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
