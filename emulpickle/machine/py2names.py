"""Python 2 global names and where they live in Python 3 (``fix_imports``).

Shared by the machine and the scanner, which must map names the same way.
"""

from __future__ import annotations

import _compat_pickle

__all__ = ["map_python2_name"]

_NAME_MAPPING: dict[tuple[str, str], tuple[str, str]] = dict(
    _compat_pickle.NAME_MAPPING
)
_IMPORT_MAPPING: dict[str, str] = dict(_compat_pickle.IMPORT_MAPPING)


def map_python2_name(module: str, name: str) -> tuple[str, str]:
    """Map a Python 2 global name to its Python 3 location."""
    key = (module, name)
    mapped = _NAME_MAPPING.get(key)
    if mapped is not None:
        return mapped
    new_module = _IMPORT_MAPPING.get(module)
    if new_module is not None:
        return new_module, name
    return key
