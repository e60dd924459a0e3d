"""Chooses compiled or Python code: the opcode machine and the scanner's walker.

Installs built where a C compiler is available carry the opcode machine
(``machine/vm.py``) and the scanner's opcode walker (``scanner/walk.py``)
compiled with mypyc (see ``setup.py``); elsewhere both are plain Python
modules. Both forms behave the same; the compiled ones are faster. The choice
is made once, at import, for both modules together: either both compiled
modules run, or neither does.

* ``EMULPICKLE_PURE=1`` in the environment (read once, at import) forces the
  Python sources: ``machine/vm.py`` is then loaded as
  ``emulpickle.machine.vm_pure`` and its extension is never imported, and
  ``scanner/walk.py`` is loaded as ``emulpickle.scanner.walk`` itself, so that
  every module that imports the walker gets the same one, and the same
  ``Broken`` exception class.
* The extensions are used only while every compiled module's source still
  matches the stamp the build wrote next to it, in its own directory
  (``machine/vm.stamp``, ``scanner/walk.stamp``: CRC-32 and size of the
  compiled source). After one of them is edited in an editable install, the
  Python sources of both run, with a warning, until the extensions are
  rebuilt (``pip install -e .``).

``compiled`` (re-exported as ``emulpickle.__compiled__``) tells which run.

The walker is named here only by its file path: this module imports nothing
from the scanner (the machine sits below it), it only makes sure the scanner
later imports the walker that matches the machine.
"""

from __future__ import annotations

import os
import sys
import warnings
import zlib
from importlib.machinery import EXTENSION_SUFFIXES
from types import ModuleType
from typing import TYPE_CHECKING

__all__ = [
    "COMPILED_MODULES",
    "Machine",
    "Passthrough",
    "compiled",
    "exec_source",
    "has_extension",
    "is_extension",
    "load_source",
    "pure_requested",
    "source_path",
    "stamp_path",
    "stamp_problem",
]

PURE_ENV = "EMULPICKLE_PURE"
#: The modules ``setup.py`` compiles, in one build, relative to the package
#: (the machine first: the others follow its choice).
COMPILED_MODULES = ("machine.vm", "scanner.walk")
_EXTENSION_SUFFIXES = (".so", ".pyd")
_PACKAGE = __name__.partition(".")[0]
#: The directory of the ``emulpickle`` package.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pure_requested() -> bool:
    """Whether ``EMULPICKLE_PURE`` asks for the Python modules."""
    return os.environ.get(PURE_ENV, "").strip() not in ("", "0")


def is_extension(module: ModuleType) -> bool:
    """Whether ``module`` was loaded from a C extension file."""
    path = getattr(module, "__file__", None) or ""
    return path.endswith(_EXTENSION_SUFFIXES)


def _base(module: str) -> str:
    """``module`` (e.g. ``machine.vm``) as a path without extension."""
    return os.path.join(_ROOT, *module.split("."))


def source_path(module: str) -> str:
    """The Python source of a compiled module, e.g. ``.../machine/vm.py``."""
    return _base(module) + ".py"


def stamp_path(module: str) -> str:
    """The stamp beside a compiled module, e.g. ``.../machine/vm.stamp``."""
    return _base(module) + ".stamp"


def _shown(module: str) -> str:
    """``machine.vm`` as the messages name it: ``machine/vm``."""
    return module.replace(".", "/")


def exec_source(name: str, path: str) -> ModuleType:
    """The Python file ``path`` imported as module ``name`` (once).

    Public for plugins that compile modules of their own the same way
    (emulpickle-numpy's fast paths).
    """
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
    """``machine/vm.py`` itself, imported as ``emulpickle.machine.vm_pure``."""
    return exec_source(
        f"{_PACKAGE}.{COMPILED_MODULES[0]}_pure", source_path(COMPILED_MODULES[0])
    )


def has_extension(base: str) -> bool:
    """Whether a compiled extension lies at ``base`` (a path without suffix)."""
    return any(os.path.exists(base + suffix) for suffix in EXTENSION_SUFFIXES)


def _has_extension(module: str) -> bool:
    """Whether a compiled ``module`` lies beside its source."""
    return has_extension(_base(module))


def stamp_problem(source: str, stamp: str, shown: str) -> str | None:
    """Why the extension built from ``source`` may not run (None if it may).

    ``stamp`` is the file the build wrote beside the extension: the CRC-32
    and size of the source it compiled. ``shown`` names the module in the
    answer. A missing source is no problem (nothing to compare or fall
    back on).
    """
    try:
        with open(source, "rb") as f:
            data = f.read()
    except OSError:
        return None
    try:
        with open(stamp, "rb") as f:
            expected = f.read().strip()
    except OSError:
        return f"{shown}.stamp is missing"
    if expected != b"%08x %d" % (zlib.crc32(data), len(data)):
        return f"{shown}.py changed since it was compiled"
    return None


def _use_other_sources() -> None:
    """Make the other compiled modules import as their Python sources.

    Each is loaded under its own name, before anything imports it, so every
    ``from .walk import`` gets it, never the extension beside it (its
    package, when imported later, finds it in ``sys.modules``). Nothing to do
    in a pure build.
    """
    for module in COMPILED_MODULES[1:]:
        if _has_extension(module):
            name = f"{_PACKAGE}.{module}"
            loaded = exec_source(name, source_path(module))
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, loaded)


def _stale() -> str | None:
    """Why the compiled modules cannot all be used (None if they can)."""
    for module in COMPILED_MODULES:
        problem = stamp_problem(source_path(module), stamp_path(module), _shown(module))
        if problem is not None:
            return problem
        if os.path.exists(source_path(module)) and not _has_extension(module):
            return f"the compiled {_shown(module)} is missing"
    return None


def _select() -> tuple[ModuleType, bool]:
    if pure_requested():
        _use_other_sources()
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
        _use_other_sources()
        return load_source(), False
    from . import vm

    if not is_extension(vm):
        _use_other_sources()
        return vm, False
    return vm, True


_module, compiled = _select()

if TYPE_CHECKING:
    from .vm import Machine, Passthrough
else:
    Machine = _module.Machine
    Passthrough = _module.Passthrough
