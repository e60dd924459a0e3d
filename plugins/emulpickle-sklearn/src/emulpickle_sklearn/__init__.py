"""emulpickle plugin for scikit-learn: fitted estimators from untrusted files.

``emulpickle_sklearn.load(path, *, trusted=())`` reads a pickle or joblib
file and returns real, fitted scikit-learn objects; ``register(registry)``
(the ``emulpickle.plugins`` entry point) teaches a registry scikit-learn's
names. Classes are scikit-learn's own, found by the plugin
(``all_estimators()`` and a fixed table of helper classes), made with
``cls.__new__(cls)`` and given their state through their own
``__setstate__`` after every value was checked; the native (Cython) state is
validated by :mod:`emulpickle_sklearn._native`; functions a model holds are
refused unless the application trusts them by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulpickle import Registry

    from ._load import load

__all__ = ["CLAIMS", "load", "register"]

__version__ = "0.1.0"

#: The modules whose globals :func:`register` answers (tested): the scanner
#: loads this plugin, and imports scikit-learn and scipy, only when a pickle
#: names something in one of them that the other plugins do not answer.
CLAIMS = ("sklearn", "scipy", "numpy")


def register(registry: Registry) -> None:
    """Register scikit-learn's emulators in ``registry`` (the entry point)."""
    from ._native import register_native
    from ._register import register_estimators

    register_native(registry)
    register_estimators(registry)


def __getattr__(name: str) -> Any:
    # Importing the plugin stays cheap (no scikit-learn) until it is used.
    if name == "load":
        from ._load import load

        return load
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
