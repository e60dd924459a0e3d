"""emulpickle plugin for scikit-learn: fitted estimators from untrusted files.

Work in progress (issue #16): ``register(registry)`` answers scikit-learn's
globals; ``load(path, *, trusted=())`` reads a pickle or joblib file.
"""

from __future__ import annotations

from emulpickle import Registry

from ._native import register_native

__all__ = ["register"]


def register(registry: Registry) -> None:
    """Register scikit-learn's emulators in ``registry`` (the entry point)."""
    register_native(registry)
