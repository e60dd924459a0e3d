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

import importlib
import threading
import warnings
from collections.abc import Callable
from typing import Any

from .emulators import register_stdlib
from .registry import Registry, Resolution, installed_plugins

__all__ = [
    "FIRST_PARTY_PLUGINS",
    "default_registry",
    "first_party_registry",
]

#: The first-party plugins, in the order they are registered.
FIRST_PARTY_PLUGINS = ("numpy", "torch", "pandas", "sklearn")

_DEFAULT: Registry | None = None
_FIRST_PARTY: _ClaimingRegistry | None = None


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

    What the command line and the scanner use. A plugin whose package
    declares ``CLAIMS`` (the modules its globals live in: pandas,
    scikit-learn) is registered the first time a name it claims is asked
    for, so that showing or scanning a torch checkpoint never imports pandas
    or scikit-learn; the others at once. A plugin that is installed but
    fails to register (a broken install, a missing dependency) is left out
    with a :class:`RuntimeWarning` naming it, so that one broken plugin
    never stops the others; built once per process.
    """
    global _FIRST_PARTY
    if _FIRST_PARTY is None:
        _FIRST_PARTY = _ClaimingRegistry()
    return _FIRST_PARTY


def _register_plugin(
    name: str, load: Callable[[], Any], registry: Registry, stacklevel: int = 3
) -> None:
    """Register one plugin in ``registry``; a broken one is left out with a
    :class:`RuntimeWarning` naming it."""
    try:
        load()(registry)
    except Exception as exc:
        warnings.warn(
            f"emulpickle: the {name!r} plugin is installed but broken "
            f"({type(exc).__name__}: {exc}); loading without it",
            RuntimeWarning,
            stacklevel=stacklevel,
        )


class _ClaimingRegistry(Registry):
    """:func:`first_party_registry`: read-only to its users, it registers a
    plugin that declares ``CLAIMS`` itself the first time a name in one of
    them is asked for and not answered yet. Seconds of imports per process
    are saved, and a name answers exactly as if every plugin had been
    registered at once (tested: every name a plugin registers lies inside
    its claims, and a state setter or call handler only meets objects its
    plugin's emulators made, after it was registered). Plugins without
    ``CLAIMS`` are registered at once.
    """

    def __init__(self) -> None:
        super().__init__(parent=default_registry(), name="first-party plugins")
        self._lock = threading.Lock()
        self._waiting: list[tuple[str, Any, tuple[str, ...]]] = []
        available = installed_plugins()
        for name in FIRST_PARTY_PLUGINS:
            entry = available.get(name)
            if entry is None:
                continue
            claims = None
            try:
                claims = getattr(importlib.import_module(entry.module), "CLAIMS", None)
            except Exception:  # broken: registering says so, below
                claims = None
            if isinstance(claims, tuple) and claims:
                self._waiting.append((name, entry, claims))
            else:
                _register_plugin(name, entry.load, self, stacklevel=4)
        self.freeze()

    def resolve(self, module: str, name: str) -> Resolution | None:
        """As :meth:`Registry.resolve`, registering a waiting plugin that
        claims ``module`` first when nothing answers yet."""
        found = super().resolve(module, name)
        if found is not None or not self._waiting:
            return found
        with self._lock:
            for item in list(self._waiting):
                plugin, entry, claims = item
                if any(module == c or module.startswith(c + ".") for c in claims):
                    self._waiting.remove(item)
                    # Read-only to users; the plugin registers itself here.
                    self._read_only = False
                    try:
                        _register_plugin(plugin, entry.load, self, stacklevel=4)
                    finally:
                        self._read_only = True
        return super().resolve(module, name)
