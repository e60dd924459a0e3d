"""emulpickle: load Python pickles without importing or running what they name.

Every global a pickle asks for is answered by a registered *emulator*, so a
hostile pickle cannot reach real code; see :func:`loads` and
:class:`Unpickler`.

This package re-exports the public API. Its subpackages, by concern, with
imports flowing one way (cli -> scanner / unpickler -> registry / emulators
-> machine -> errors, limits; formats below all): ``machine`` (the opcode
loop and what opcodes mean), ``emulators`` (the default registry's
emulators), ``scanner``, ``formats`` (zip, tar, ...), ``files`` (:func:`open_file`:
a file of any kind, recognised by its contents).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The machine first: it chooses the compiled or pure walker the scanner imports.
from . import machine as machine
from . import scan
from ._render import bounded_repr
from ._render import text as render_text
from .convert import to_builtins
from .defaults import default_registry
from .emulators.records import EXTRAS
from .errors import (
    EmulationError,
    ForbiddenGlobalError,
    LimitExceededError,
    PickleNotAllowedError,
    TruncatedError,
    UnpicklingError,
    UnsupportedProtocolError,
)
from .generic import GenericAttribute, GenericClass, GenericObject, generic_getattr
from .limits import Limits
from .machine import compiled as __compiled__
from .machine.context import current_limits
from .machine.hashkeys import check_hash_keys
from .machine.semantics import call, protocol_method
from .protocols import (
    PyAppendable,
    PyAttrSettable,
    PyCallable,
    PyDictSettable,
    PyItemSettable,
    PyNewable,
    PySetAddable,
    PyStateSettable,
)
from .registry import PluginNotFoundError, Registry, Resolution
from .scan import Finding, ScanReport
from .unpickler import Unknown, Unpickler, load, loads

if TYPE_CHECKING:
    from .files import (
        FileFormatError,
        NotYetReadableError,
        OpenedFile,
        PluginRequiredError,
        open_file,
    )
    from .guard import PickleAuditWarning, allow_pickles, no_pickles
    from .guard import install_guard as guard
    from .scanner.engine import scan_paths
    from .scanner.filescan import FileResult
    from .scanner.policyfile import PolicyError, ScanPolicy

__version__ = "0.1.0"

#: Names of :mod:`emulpickle.files`, imported when first used: its format
#: readers are not needed by ``loads``, and ``import emulpickle`` stays cheap.
_FILES = (
    "FileFormatError",
    "NotYetReadableError",
    "OpenedFile",
    "PluginRequiredError",
    "open_file",
)


#: Scanning many files (:mod:`emulpickle.scanner.engine`), imported when
#: first used: the executors, the cache and the policy are not needed by ``scan``.
_SCAN_PATHS = {
    "scan_paths": "engine",
    "FileResult": "filescan",
    "PolicyError": "policyfile",
    "ScanPolicy": "policyfile",
}


#: Names of :mod:`emulpickle.guard`, imported when first used (``import
#: emulpickle`` must not install patches or import the guard's modules).
_GUARD = ("PickleAuditWarning", "allow_pickles", "no_pickles")


def __getattr__(name: str) -> Any:
    if name in _FILES:
        from . import files

        return getattr(files, name)
    if name in _SCAN_PATHS:
        import importlib

        module = importlib.import_module(f".scanner.{_SCAN_PATHS[name]}", __name__)
        return getattr(module, name)
    if name in _GUARD or name == "guard":
        # ``guard`` is the package itself: it is callable (installs the guard).
        import importlib

        module = importlib.import_module(".guard", __name__)
        return module if name == "guard" else getattr(module, name)
    raise AttributeError(f"module 'emulpickle' has no attribute {name!r}")


__all__ = [
    "EXTRAS",
    "EmulationError",
    "FileFormatError",
    "FileResult",
    "Finding",
    "ForbiddenGlobalError",
    "GenericAttribute",
    "GenericClass",
    "GenericObject",
    "LimitExceededError",
    "Limits",
    "NotYetReadableError",
    "OpenedFile",
    "PickleAuditWarning",
    "PickleNotAllowedError",
    "PluginNotFoundError",
    "PluginRequiredError",
    "PolicyError",
    "PyAppendable",
    "PyAttrSettable",
    "PyCallable",
    "PyDictSettable",
    "PyItemSettable",
    "PyNewable",
    "PySetAddable",
    "PyStateSettable",
    "Registry",
    "Resolution",
    "ScanPolicy",
    "ScanReport",
    "TruncatedError",
    "Unknown",
    "Unpickler",
    "UnpicklingError",
    "UnsupportedProtocolError",
    "__compiled__",
    "__version__",
    "allow_pickles",
    "bounded_repr",
    "call",
    "check_hash_keys",
    "current_limits",
    "default_registry",
    "generic_getattr",
    "guard",
    "load",
    "loads",
    "no_pickles",
    "open_file",
    "protocol_method",
    "render_text",
    "scan",
    "scan_paths",
    "to_builtins",
]
