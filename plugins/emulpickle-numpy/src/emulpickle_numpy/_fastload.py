"""Chooses the fast paths: ``_fast`` compiled by mypyc, or its Python source.

The plugin's ``setup.py`` compiles ``_fast.py`` when it can and writes
``_fast.stamp`` beside the extension: the CRC-32 and size of the source it
compiled. The extension is used only while ``_fast.py`` still matches that
stamp, so that an editable install never runs code older than its source
(``pip install -e`` again to recompile). ``EMULPICKLE_PURE=1`` (as for
emulpickle's own machine) selects the source.
"""

from __future__ import annotations

import os
import sys
import warnings
import zlib
from importlib.machinery import EXTENSION_SUFFIXES
from types import ModuleType
from typing import TYPE_CHECKING

__all__ = ["compiled", "reconstruct", "scalar", "set_array_state"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_SOURCE = os.path.join(_HERE, "_fast.py")
_STAMP = os.path.join(_HERE, "_fast.stamp")


def _source() -> ModuleType:
    """``_fast.py`` itself, imported as ``emulpickle_numpy._fast_source``."""
    name = f"{__package__}._fast_source"
    module = sys.modules.get(name)
    if module is None:
        import importlib.util  # only here: importing it takes milliseconds

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


def _stamp_matches() -> bool:
    try:
        with open(_SOURCE, "rb") as f:
            source = f.read()
        with open(_STAMP, "rb") as f:
            stamp = f.read().split()
    except OSError:
        return False
    return stamp == [b"%08x" % zlib.crc32(source), b"%d" % len(source)]


def _has_extension() -> bool:
    return any(
        os.path.exists(os.path.join(_HERE, "_fast" + suffix))
        for suffix in EXTENSION_SUFFIXES
    )


def _choose() -> tuple[ModuleType, bool]:
    if os.environ.get("EMULPICKLE_PURE", "").strip() not in ("", "0"):
        return _source(), False
    # Checked before the extension is imported: a stale one may not even
    # import (it can name things that were renamed since it was built).
    if _has_extension() and not _stamp_matches():
        warnings.warn(
            "emulpickle-numpy: not using the compiled fast paths (_fast.py "
            "changed since it was compiled, or _fast.stamp is missing); "
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
