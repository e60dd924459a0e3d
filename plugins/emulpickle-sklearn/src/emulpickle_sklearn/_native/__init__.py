"""Emulators for the scikit-learn state that reaches C code, validated first.

Each native type (``Tree``, HistGradientBoosting's ``TreePredictor``,
``KDTree``/``BallTree`` and their distance metrics, the ``_loss`` objects,
numpy.random generators, scipy.sparse matrices) is answered by an emulator
that checks every index, shape and dtype its C code trusts and only then
makes the real object with the library's own constructor / ``__setstate__``.
:data:`ESTIMATOR_CHECKS` holds the same kind of checks for estimators whose
own fitted arrays reach C code (libsvm, k-means...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulpickle import Registry

from .checks import CHECKS
from .hist_gb import register_hist_gb
from .losses import register_losses
from .neighbors import register_neighbors
from .random import register_random
from .sparse import register_sparse
from .tree import register_tree

__all__ = ["ESTIMATOR_CHECKS", "register_native"]

#: Estimator-level invariants checked before a real estimator gets its state:
#: qualified class name (``"sklearn.svm._classes.SVC"``) -> a function that
#: raises :class:`emulpickle.EmulationError` when the state dict is not one
#: the class's C code can use safely.
ESTIMATOR_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = dict(CHECKS)


def register_native(registry: Registry) -> None:
    """Register the emulators of scikit-learn's native (Cython) types."""
    register_tree(registry)
    register_random(registry)
    register_sparse(registry)
    register_neighbors(registry)
    register_hist_gb(registry)
    register_losses(registry)
