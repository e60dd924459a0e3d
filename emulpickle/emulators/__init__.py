"""The emulators of the default registry: safe standard-library globals.

One module per family: ``builtin`` (builtin types, ``_codecs.encode``,
copyreg's reconstructors), ``collections``, ``datetime``, ``numbers``
(decimal, fractions), ``uuid``, ``paths`` (pathlib), ``ipaddress``,
``array`` and ``namespaces`` (SimpleNamespace, argparse.Namespace), on top of
``base`` (:class:`StdlibEmulator` and the shared argument checks); ``records``
applies BUILD states to registered dataclasses and attrs classes.

Pure-data types are answered by :class:`StdlibEmulator` objects: calling one
(REDUCE) or instantiating it (NEWOBJ) validates the arguments and builds the
*real* value, so a loaded ``OrderedDict`` is an ``OrderedDict``. Heavy
modules are imported only when a pickle needs them.

Imports flow down: the emulators use the machine (semantics, stand-ins, hash
key checks, number bounds) and the bottom layer (``errors``, ``_render``);
they never import the unpickler, the scanner or the CLI, and the registry
only to type :func:`register_stdlib` (``emulpickle.defaults`` calls it).
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from .base import NewableStdlibEmulator, StdlibEmulator

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["NewableStdlibEmulator", "StdlibEmulator", "families", "register_stdlib"]


def families() -> list[ModuleType]:
    """The emulator modules, in registration order; each has ``entries()``.

    They are imported on the first call (the first default registry, or
    ``import emulpickle.stdlib``), not with emulpickle: together they would
    add a quarter to its import time, and a program that only scans never
    needs them.
    """
    from . import (
        array,
        builtin,
        collections,
        datetime,
        ipaddress,
        namespaces,
        numbers,
        paths,
        uuid,
    )

    return [
        builtin,
        collections,
        datetime,
        numbers,
        uuid,
        array,
        namespaces,
        paths,
        ipaddress,
    ]


def register_stdlib(registry: Registry) -> None:
    """Register the standard-library emulators into ``registry``."""
    for family in families():
        for module, name, emulator in family.entries():
            registry.register(module, name, emulator)
