"""Emulators for safe standard-library globals, registered in the default registry.

The public path of :mod:`emulpickle.emulators` (one module per family):
:class:`StdlibEmulator` and :func:`register_stdlib`. Importing it loads every
family, as it always has, so that a load then imports nothing more.
"""

from __future__ import annotations

from .emulators import StdlibEmulator, families, register_stdlib

__all__ = ["StdlibEmulator", "register_stdlib"]

families()
