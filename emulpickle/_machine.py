"""Chooses the opcode machine: mypyc-compiled ``_vm`` or its Python source.

Installs built where a C compiler is available carry ``_vm`` compiled with
mypyc (see ``setup.py``); elsewhere ``_vm`` is the plain Python module. Both
behave the same; the compiled one is faster.

* ``EMULPICKLE_PURE=1`` in the environment (read once, at import) forces the
  Python source: ``_vm.py`` is then loaded as ``emulpickle._vm_pure`` and the
  extension is never imported.
* A compiled ``_vm`` is used only while ``_vm.py`` still matches the stamp the
  build wrote next to it (``_vm.stamp``: CRC-32 and size of the compiled
  source). After ``_vm.py`` is edited in an editable install, the source runs,
  with a warning, until the extension is rebuilt (``pip install -e .``).

``compiled`` (re-exported as ``emulpickle.__compiled__``) tells which one runs.
"""

from __future__ import annotations

import os
import sys
import warnings
import zlib
from types import ModuleType
from typing import TYPE_CHECKING

__all__ = ["Machine", "Passthrough", "compiled"]

PURE_ENV = "EMULPICKLE_PURE"
STAMP_NAME = "_vm.stamp"
_EXTENSION_SUFFIXES = (".so", ".pyd")
_PACKAGE = __name__.rpartition(".")[0]
_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_vm.py")


def pure_requested() -> bool:
    """Whether ``EMULPICKLE_PURE`` asks for the Python machine."""
    return os.environ.get(PURE_ENV, "").strip() not in ("", "0")


def is_extension(module: ModuleType) -> bool:
    """Whether ``module`` was loaded from a C extension file."""
    path = getattr(module, "__file__", None) or ""
    return path.endswith(_EXTENSION_SUFFIXES)


def load_source() -> ModuleType:
    """``_vm.py`` itself, imported as ``emulpickle._vm_pure``."""
    name = f"{_PACKAGE}._vm_pure"
    module = sys.modules.get(name)
    if module is not None:
        return module
    import importlib.util  # only here: it costs a few ms of every import

    spec = importlib.util.spec_from_file_location(name, _SOURCE)
    if spec is None or spec.loader is None:  # pragma: no cover
        raise ImportError(f"cannot load {_SOURCE}", name=name, path=_SOURCE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _stale(extension: ModuleType) -> str | None:
    """Why the compiled ``extension`` does not match ``_vm.py`` (None if it does)."""
    try:
        with open(_SOURCE, "rb") as f:
            source = f.read()
    except OSError:
        return None  # no source to compare with (or to fall back on)
    stamp_path = os.path.join(os.path.dirname(extension.__file__ or ""), STAMP_NAME)
    try:
        with open(stamp_path, "rb") as f:
            stamp = f.read().strip()
    except OSError:
        return f"{STAMP_NAME} is missing"
    if stamp != b"%08x %d" % (zlib.crc32(source), len(source)):
        return "_vm.py changed since it was compiled"
    return None


def _select() -> tuple[ModuleType, bool]:
    if pure_requested():
        return load_source(), False
    from . import _vm

    if not is_extension(_vm):
        return _vm, False
    problem = _stale(_vm)
    if problem is not None:
        warnings.warn(
            f"emulpickle: not using the compiled machine ({problem}); running "
            "the Python one. Reinstall emulpickle (pip install -e .) to rebuild it.",
            RuntimeWarning,
            stacklevel=2,
        )
        return load_source(), False
    return _vm, True


_module, compiled = _select()

if TYPE_CHECKING:
    from ._vm import Machine, Passthrough
else:
    Machine = _module.Machine
    Passthrough = _module.Passthrough
