"""Chooses the fast paths: ``_fast`` compiled by mypyc, or its Python source.

The checks are emulpickle's own (``emulpickle.machine.selection``), so the
plugin and the core decide alike.

The plugin's ``setup.py`` compiles ``_fast.py`` when it can and writes
``_fast.stamp`` beside the extension: the CRC-32 and size of the source it
compiled. The extension is used only while ``_fast.py`` still matches that
stamp, so that an editable install never runs code older than its source
(``pip install -e`` again to recompile). ``EMULPICKLE_PURE=1`` (as for
emulpickle's own machine) selects the source.
"""

from __future__ import annotations

import os
import warnings
from types import ModuleType
from typing import TYPE_CHECKING

from emulpickle.machine.selection import (
    exec_source,
    has_extension,
    pure_requested,
    stamp_problem,
)

__all__ = ["compiled", "reconstruct", "scalar", "set_array_state"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_SOURCE = os.path.join(_HERE, "_fast.py")
_STAMP = os.path.join(_HERE, "_fast.stamp")


def _source() -> ModuleType:
    """``_fast.py`` itself, imported as ``emulpickle_numpy._fast_source``."""
    return exec_source(f"{__package__}._fast_source", _SOURCE)


def _choose() -> tuple[ModuleType, bool]:
    if pure_requested():
        return _source(), False
    # Checked before the extension is imported: a stale one may not even
    # import (it can name things that were renamed since it was built).
    problem = stamp_problem(_SOURCE, _STAMP, "_fast")
    if has_extension(os.path.join(_HERE, "_fast")) and problem is not None:
        warnings.warn(
            f"emulpickle-numpy: not using the compiled fast paths ({problem}); "
            "reinstall the plugin to rebuild them.",
            RuntimeWarning,
            stacklevel=2,
        )
        return _source(), False
    from . import _fast

    return _fast, (_fast.__file__ or "").endswith((".so", ".pyd"))


_module, compiled = _choose()

if TYPE_CHECKING:
    from ._fast import reconstruct, scalar, set_array_state
else:
    reconstruct = _module.reconstruct
    scalar = _module.scalar
    set_array_state = _module.set_array_state
