"""Chooses compiled or Python code: the opcode machine and the scanner's walker.

Installs built where a C compiler is available carry the opcode machine
(``_vm``) and the scanner's opcode walker (``_scan_walk``) compiled with mypyc
(see ``setup.py``); elsewhere both are plain Python modules. Both forms
behave the same; the compiled ones are faster. The choice is made once, at
import, for both modules together: either both compiled modules run, or
neither does.

* ``EMULPICKLE_PURE=1`` in the environment (read once, at import) forces the
  Python sources: ``_vm.py`` is then loaded as ``emulpickle._vm_pure`` and its
  extension is never imported, and ``_scan_walk.py`` is loaded as
  ``emulpickle._scan_walk`` itself, so that every module that imports the
  walker (``scan``, ``_scan_joblib``) gets the same one, and the same
  ``Broken`` exception class.
* The extensions are used only while every compiled module's source still
  matches the stamp the build wrote next to it (``_vm.stamp``,
  ``_scan_walk.stamp``: CRC-32 and size of the compiled source). After one of
  them is edited in an editable install, the Python sources of both run, with
  a warning, until the extensions are rebuilt (``pip install -e .``).

``compiled`` (re-exported as ``emulpickle.__compiled__``) tells which run.
"""

from __future__ import annotations

import os
import sys
import warnings
import zlib
from importlib.machinery import EXTENSION_SUFFIXES
from types import ModuleType
from typing import TYPE_CHECKING

__all__ = ["COMPILED_MODULES", "Machine", "Passthrough", "compiled"]

PURE_ENV = "EMULPICKLE_PURE"
#: The modules ``setup.py`` compiles, in one build.
COMPILED_MODULES = ("_vm", "_scan_walk")
STAMP_NAME = "_vm.stamp"
_EXTENSION_SUFFIXES = (".so", ".pyd")
_PACKAGE = __name__.rpartition(".")[0]
_DIRECTORY = os.path.dirname(os.path.abspath(__file__))
_SOURCE = os.path.join(_DIRECTORY, "_vm.py")


def pure_requested() -> bool:
    """Whether ``EMULPICKLE_PURE`` asks for the Python modules."""
    return os.environ.get(PURE_ENV, "").strip() not in ("", "0")


def is_extension(module: ModuleType) -> bool:
    """Whether ``module`` was loaded from a C extension file."""
    path = getattr(module, "__file__", None) or ""
    return path.endswith(_EXTENSION_SUFFIXES)


def stamp_name(module: str) -> str:
    """The stamp file of a compiled module, e.g. ``_vm.stamp``."""
    return f"{module}.stamp"


def _exec_source(name: str, path: str) -> ModuleType:
    """The Python file ``path`` imported as module ``name`` (once)."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    import importlib.util  # only here: it costs a few ms of every import

    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover
        raise ImportError(f"cannot load {path}", name=name, path=path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_source() -> ModuleType:
    """``_vm.py`` itself, imported as ``emulpickle._vm_pure``."""
    return _exec_source(f"{_PACKAGE}._vm_pure", _SOURCE)


def _has_extension(module: str) -> bool:
    """Whether a compiled ``module`` lies in the package directory."""
    return any(
        os.path.exists(os.path.join(_DIRECTORY, module + suffix))
        for suffix in EXTENSION_SUFFIXES
    )


def _use_scanner_sources() -> None:
    """Make the scanner's compiled modules import as their Python sources.

    Each is loaded under its own name, so every ``from ._scan_walk import``
    gets it, never the extension beside it. Nothing to do in a pure build.
    """
    package = sys.modules[_PACKAGE]
    for module in COMPILED_MODULES[1:]:
        if _has_extension(module):
            path = os.path.join(_DIRECTORY, f"{module}.py")
            setattr(package, module, _exec_source(f"{_PACKAGE}.{module}", path))


def _stale() -> str | None:
    """Why the compiled modules cannot all be used (None if they can)."""
    for module in COMPILED_MODULES:
        try:
            with open(os.path.join(_DIRECTORY, f"{module}.py"), "rb") as f:
                source = f.read()
        except OSError:
            continue  # no source to compare with (or to fall back on)
        stamp = stamp_name(module)
        try:
            with open(os.path.join(_DIRECTORY, stamp), "rb") as f:
                expected = f.read().strip()
        except OSError:
            return f"{stamp} is missing"
        if expected != b"%08x %d" % (zlib.crc32(source), len(source)):
            return f"{module}.py changed since it was compiled"
        if not _has_extension(module):
            return f"the compiled {module} is missing"
    return None


def _select() -> tuple[ModuleType, bool]:
    if pure_requested():
        _use_scanner_sources()
        return load_source(), False
    # Checked before the extension is imported: a stale one may not even
    # import (it can name modules that were renamed since it was built).
    problem = _stale() if _has_extension(COMPILED_MODULES[0]) else None
    if problem is not None:
        warnings.warn(
            f"emulpickle: not using the compiled modules ({problem}); running "
            "the Python ones. Reinstall emulpickle (pip install -e .) to rebuild them.",
            RuntimeWarning,
            stacklevel=2,
        )
        _use_scanner_sources()
        return load_source(), False
    from . import _vm

    if not is_extension(_vm):
        _use_scanner_sources()
        return _vm, False
    return _vm, True


_module, compiled = _select()

if TYPE_CHECKING:
    from ._vm import Machine, Passthrough
else:
    Machine = _module.Machine
    Passthrough = _module.Passthrough
