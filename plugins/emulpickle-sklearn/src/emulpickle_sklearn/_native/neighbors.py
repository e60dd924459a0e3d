"""``KDTree`` / ``BallTree`` and the distance metrics they hold.

Both trees pickle as ``newObj(cls)`` and a BUILD of a 13-item tuple
``(data, idx_array, node_data, node_bounds, leaf_size, n_levels, n_nodes,
n_trims, n_leaves, n_splits, n_calls, dist_metric, sample_weight)``;
``BinaryTree.__setstate__`` assigns them to typed memoryviews (so dtypes and
contiguity are enforced by Cython) but never looks at the values, and the
queries (compiled without bounds checks) then read
``data[idx_array[i]]`` for ``i`` in ``[idx_start, idx_end)`` of a leaf and
recurse into nodes ``2i+1``/``2i+2`` of a non-leaf. Checked here first:
shapes and dtypes of every array, ``idx_array`` a permutation of
``range(n_samples)``, every node's ``0 <= idx_start <= idx_end <=
n_samples``, ``is_leaf`` 0/1 and every non-leaf's children inside the node
array, ``n_nodes == 2**n_levels - 1 == len(node_data)``, ``node_bounds``
``(2 or 1, n_nodes, n_features)``, ``sample_weight`` None or ``n_samples``
float64, and the metric one of scikit-learn's named metrics whose
parameters (``V``, ``VI``, ``w``) fit ``n_features``.

Metrics pickle as ``newObj(cls)`` and a BUILD of ``(p, vec, mat)``; only the
named built-in classes are answered (a ``PyFuncDistance`` holds a callable
and is refused).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sklearn.metrics._dist_metrics as dist_metrics  # type: ignore[import-untyped]
from sklearn.neighbors._ball_tree import BallTree  # type: ignore[import-untyped]
from sklearn.neighbors._kd_tree import KDTree  # type: ignore[import-untyped]

from emulpickle import Registry
from emulpickle.machine.host import Replacement

from ._common import (
    MAX_DIM,
    NativeClass,
    Pending,
    check_array,
    check_float,
    check_int,
    fail,
    refuse_later_builds,
    shown,
)

__all__ = ["check_binary_tree_state", "register_neighbors"]

_NODE_DATA = np.dtype(
    [
        ("idx_start", np.intp),
        ("idx_end", np.intp),
        ("is_leaf", np.intp),
        ("radius", np.float64),
    ]
)
#: Metrics whose state is only ``p`` (``vec``/``mat`` are unused placeholders).
_PLAIN_METRICS = (
    "Euclidean",
    "Manhattan",
    "Chebyshev",
    "Hamming",
    "Canberra",
    "BrayCurtis",
    "Jaccard",
    "Matching",
    "Dice",
    "Kulsinski",
    "RogersTanimoto",
    "RussellRao",
    "SokalMichener",
    "SokalSneath",
    "Haversine",
)
_PARAM_METRICS = ("SEuclidean", "Minkowski", "Mahalanobis")
#: class name -> real metric class (64-bit only: the trees pickled are).
_METRICS: dict[str, Any] = {
    f"{name}Distance64": getattr(dist_metrics, f"{name}Distance64")
    for name in _PLAIN_METRICS + _PARAM_METRICS
    if hasattr(dist_metrics, f"{name}Distance64")
}
_TREES: dict[str, tuple[Any, int]] = {
    "KDTree": (KDTree, 2),
    "KDTree64": (KDTree, 2),
    "BallTree": (BallTree, 1),
    "BallTree64": (BallTree, 1),
}
_TREE_MODULES = {
    "KDTree": "sklearn.neighbors._kd_tree",
    "KDTree64": "sklearn.neighbors._kd_tree",
    "BallTree": "sklearn.neighbors._ball_tree",
    "BallTree64": "sklearn.neighbors._ball_tree",
}
_METRIC_MODULE = "sklearn.metrics._dist_metrics"


class PendingNeighbors(Pending):
    """A KDTree, BallTree or metric made by ``newObj``, waiting for its BUILD."""

    __slots__ = ()


_MARKERS: dict[str, NativeClass] = {
    name: NativeClass(name, PendingNeighbors) for name in list(_TREES) + list(_METRICS)
}


class NewObj:
    """Answers the ``newObj(cls)`` pickling helper of trees and metrics."""

    def __init__(self, module: str, names: tuple[str, ...]) -> None:
        self._module = module
        self._names = names

    def __repr__(self) -> str:
        return f"<emulated {self._module}.newObj>"

    def py_call(self, *args: object) -> object:
        """``newObj(cls)``: a pending object of one of this module's classes."""
        if len(args) == 1:
            for name in self._names:
                if args[0] is _MARKERS[name]:
                    return PendingNeighbors(name, ())
        given = shown(args[0]) if args else "nothing"
        raise fail(f"{self._module}.newObj: unsupported class {given}")


def _metric_parts(state: object, name: str) -> tuple[float, Any, Any]:
    what = f"{name} state"
    if type(state) is not tuple or len(state) != 3:
        raise fail(f"{what} must be (p, vec, mat)")
    p = check_float(state[0], f"{what}.p")
    vec = check_array(state[1], f"{what}.vec", np.float64, 1, contiguous=True)
    mat = check_array(state[2], f"{what}.mat", np.float64, 2, contiguous=True)
    if name.startswith("Minkowski"):
        if not (p > 0 and math.isfinite(p)):
            raise fail(f"{what}.p = {shown(p)} must be finite and > 0")
        if (vec < 0).any():
            raise fail(f"{what}: negative weights")
    elif name.startswith("SEuclidean") and vec.shape[0] < 1:
        raise fail(f"{what}: V is empty")
    elif name.startswith("Mahalanobis") and (
        mat.shape[0] < 1 or mat.shape[0] != mat.shape[1]
    ):
        raise fail(f"{what}: VI must be a non-empty square matrix")
    return p, vec, mat


def metric_features(metric: Any) -> int | None:
    """The number of features ``metric`` needs (None: any)."""
    name = type(metric).__name__
    # The metric's own getstate: vec/mat are not Python attributes.
    _, vec, mat = metric.__getstate__()
    if name.startswith("SEuclidean"):
        return int(vec.shape[0])
    if name.startswith("Minkowski"):
        return int(vec.shape[0]) or None
    if name.startswith("Mahalanobis"):
        return int(mat.shape[0])
    if name.startswith("Haversine"):
        return 2
    return None


def build_metric(name: str, state: object) -> Any:
    """The real metric ``name`` with a checked ``(p, vec, mat)`` state."""
    p, vec, mat = _metric_parts(state, name)
    cls = _METRICS[name]
    metric = cls.__new__(cls)
    metric.__setstate__((p, vec.copy(), mat.copy()))
    return metric


def check_binary_tree_state(name: str, state: object) -> tuple[Any, ...]:
    """The checked 13-item state of KDTree/BallTree ``name``."""
    what = name
    bounds_rows = _TREES[name][1]
    if type(state) is not tuple or len(state) != 13:
        raise fail(f"{what} state must be a tuple of 13 items")
    data = check_array(state[0], f"{what}.data", np.float64, 2, contiguous=True)
    n_samples, n_features = data.shape
    if n_samples < 1 or n_features < 1:
        raise fail(f"{what}.data is empty")
    idx_array = check_array(
        state[1], f"{what}.idx_array", np.intp, shape=(n_samples,), contiguous=True
    )
    seen = np.zeros(n_samples, dtype=bool)
    if int(idx_array.min()) < 0 or int(idx_array.max()) >= n_samples:
        raise fail(f"{what}.idx_array has an index outside [0, {n_samples})")
    seen[idx_array] = True
    if not seen.all():
        raise fail(f"{what}.idx_array is not a permutation of range({n_samples})")
    node_data = check_array(
        state[2], f"{what}.node_data", _NODE_DATA, 1, contiguous=True
    )
    leaf_size = check_int(state[4], f"{what}.leaf_size", 1, MAX_DIM)
    n_levels = check_int(state[5], f"{what}.n_levels", 1, 62)
    n_nodes = check_int(state[6], f"{what}.n_nodes", 1, MAX_DIM)
    if n_nodes != 2**n_levels - 1 or node_data.shape[0] != n_nodes:
        raise fail(
            f"{what}: n_nodes {n_nodes}, n_levels {n_levels} and "
            f"{node_data.shape[0]} node records disagree"
        )
    counters = [
        check_int(state[i], f"{what}.{field}", 0, 2**62)
        for i, field in zip(
            range(7, 11), ("n_trims", "n_leaves", "n_splits", "n_calls"), strict=True
        )
    ]
    check_array(
        state[3],
        f"{what}.node_bounds",
        np.float64,
        shape=(bounds_rows, n_nodes, n_features),
        contiguous=True,
    )
    start, end = node_data["idx_start"], node_data["idx_end"]
    bad = (start < 0) | (start > end) | (end > n_samples)
    leaf = node_data["is_leaf"]
    bad |= (leaf != 0) & (leaf != 1)
    children = 2 * np.arange(n_nodes, dtype=np.int64) + 2
    bad |= (leaf == 0) & (children >= n_nodes)
    if bad.any():
        node = int(np.flatnonzero(bad)[0])
        raise fail(
            f"{what}.node_data[{node}] = {shown(node_data[node].tolist())} is "
            f"outside {n_samples} samples / {n_nodes} nodes"
        )
    metric = state[11]
    if type(metric) not in _METRICS.values():
        raise fail(f"{what}.dist_metric is a {type(metric).__name__}")
    needed = metric_features(metric)
    if needed is not None and needed != n_features:
        raise fail(
            f"{what}.dist_metric {type(metric).__name__} is for {needed} "
            f"features, the data has {n_features}"
        )
    weight = state[12]
    if weight is not None:
        weight = check_array(
            weight, f"{what}.sample_weight", np.float64, shape=(n_samples,)
        )
    # Copies: the tree keeps what it is given, and the file's own arrays
    # stay reachable from the memo (and from anything else that holds them).
    return (
        data.copy(),
        idx_array.copy(),
        node_data.copy(),
        np.array(state[3]),
        leaf_size,
        n_levels,
        n_nodes,
        *counters,
        metric,
        None if weight is None else np.array(weight),
    )


def _setter(pending: Any, state: Any) -> object:
    if type(pending) is not PendingNeighbors:
        raise fail(f"neighbors state applied to a {type(pending).__name__}")
    name = pending.kind
    if name in _METRICS:
        return Replacement(build_metric(name, state))
    checked = check_binary_tree_state(name, state)
    cls = _TREES[name][0]
    tree = cls.__new__(cls)
    tree.__setstate__(checked)
    return Replacement(tree)


def register_neighbors(registry: Registry) -> None:
    """Answer KDTree/BallTree, their ``newObj`` helpers and the named metrics."""
    for name, module in _TREE_MODULES.items():
        registry.register(module, name, _MARKERS[name])
    kd = tuple(n for n in _TREES if n.startswith("KD"))
    ball = tuple(n for n in _TREES if n.startswith("Ball"))
    registry.register("sklearn.neighbors._kd_tree", "newObj", NewObj("KDTree", kd))
    registry.register(
        "sklearn.neighbors._ball_tree", "newObj", NewObj("BallTree", ball)
    )
    for name in _METRICS:
        registry.register(_METRIC_MODULE, name, _MARKERS[name])
    registry.register(_METRIC_MODULE, "newObj", NewObj(_METRIC_MODULE, tuple(_METRICS)))
    registry.register_state_setter(PendingNeighbors, _setter)
    refuse_later_builds(registry, KDTree, BallTree, *_METRICS.values())
