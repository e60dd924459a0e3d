"""The curated registries: the default one, and it plus the first-party plugins.

:func:`default_registry` answers safe standard-library globals with the
emulators of :mod:`emulpickle.emulators`; :func:`first_party_registry` adds
every installed first-party plugin (what the command line and the scanner
use). Both are built once per process and are read-only.

This module is where the registry and the emulators meet: it imports both,
so that neither imports the other (``emulpickle.registry.default_registry``
calls into it lazily). The unpickler, the scanner and the CLI import it.
"""

from __future__ import annotations

import warnings

from .emulators import register_stdlib
from .registry import Registry, installed_plugins

__all__ = ["FIRST_PARTY_PLUGINS", "default_registry", "first_party_registry"]

#: The first-party plugins, in the order they are registered.
FIRST_PARTY_PLUGINS = ("numpy", "torch", "pandas", "sklearn")

_DEFAULT: Registry | None = None
_FIRST_PARTY: Registry | None = None


def default_registry() -> Registry:
    """The curated, read-only registry of emulators for safe standard types."""
    global _DEFAULT
    if _DEFAULT is None:
        registry = Registry(name="default")
        register_stdlib(registry)
        registry.freeze()
        _DEFAULT = registry
    return _DEFAULT


def first_party_registry() -> Registry:
    """The default registry plus every installed first-party plugin (read-only).

    What the command line and the scanner use. A plugin that is installed
    but fails to register (a broken install, a missing dependency) is left
    out with a :class:`RuntimeWarning` naming it, so that one broken plugin
    never stops the others; built once per process.
    """
    global _FIRST_PARTY
    if _FIRST_PARTY is None:
        available = installed_plugins()
        registry = Registry(parent=default_registry(), name="first-party plugins")
        for name in FIRST_PARTY_PLUGINS:
            entry = available.get(name)
            if entry is None:
                continue
            try:
                entry.load()(registry)
            except Exception as exc:
                warnings.warn(
                    f"emulpickle: the {name!r} plugin is installed but broken "
                    f"({type(exc).__name__}: {exc}); loading without it",
                    RuntimeWarning,
                    stacklevel=2,
                )
        registry.freeze()
        _FIRST_PARTY = registry
    return _FIRST_PARTY
