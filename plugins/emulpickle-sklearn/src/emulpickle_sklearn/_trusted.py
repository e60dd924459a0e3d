"""Callables the application trusts, by name: ``trusted=["numpy.log1p"]``.

Each name is resolved here, with :mod:`importlib`, from the application's
list — a file never chooses what is imported. The longest importable module
prefix is imported and the rest looked up as attributes
(``"mypkg.features.Scaler.fit"`` works as well as ``"numpy.log1p"``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

__all__ = ["resolve_trusted"]


def resolve_trusted(names: Iterable[str]) -> dict[str, object]:
    """``{name: object}`` for each trusted name.

    Raises:
        TypeError: ``names`` is a single string (a list is meant).
        ValueError: a name does not resolve (a mistake in the application).
    """
    if isinstance(names, str):
        raise TypeError(f"trusted must be a list of names, not the string {names!r}")
    found: dict[str, object] = {}
    for name in names:
        found[name] = _resolve(name)
    return found


def _resolve(name: str) -> object:
    if not isinstance(name, str) or not name or "." not in name:
        raise ValueError(f"a trusted name must be 'module.name', not {name!r}")
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            value: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                value = getattr(value, attr)
        except AttributeError:
            break
        return value
    raise ValueError(f"trusted name {name!r} does not resolve to an object")
