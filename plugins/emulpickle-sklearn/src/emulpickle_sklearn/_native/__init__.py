"""Emulators for the scikit-learn state that reaches C code, validated first.

Work in progress (issue #16).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulpickle import Registry

__all__ = ["ESTIMATOR_CHECKS", "register_native"]

#: Estimator-level invariants checked before a real estimator gets its state:
#: qualified class name (``"sklearn.svm._classes.SVC"``) -> a function that
#: raises :class:`emulpickle.EmulationError` when the state dict is not one
#: the class's C code can use safely.
ESTIMATOR_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {}


def register_native(registry: Registry) -> None:
    """Register the emulators of scikit-learn's native (Cython) types."""
