"""Estimator checks for trees, forests, boosting, k-means and neighbors.

The native objects (``Tree``, ``KDTree``...) are validated on their own when
built; what only the estimator knows is checked here: a tree's
``n_features`` must equal the estimator's ``n_features_in_`` (``predict``
validates ``X`` against the latter, then the Cython walk reads
``X[i, node.feature]`` checked only against the former), gradient
boosting's ``estimators_`` columns must equal ``n_trees_per_iteration_``
(``predict_stages`` writes ``out[i, k]`` for every column), k-means
centers must be as wide as ``X`` (the Lloyd/Elkan kernels read
``centers[j, 0:n_features]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.neighbors._ball_tree import BallTree  # type: ignore[import-untyped]
from sklearn.neighbors._kd_tree import KDTree  # type: ignore[import-untyped]
from sklearn.tree._tree import Tree  # type: ignore[import-untyped]

from ._common import MAX_DIM, check_int, fail, shown

__all__ = ["ESTIMATOR_LEVEL_CHECKS"]


def _tree_of(owner: str, estimator_state: dict[str, Any], n_features: int) -> Any:
    tree: Any = estimator_state.get("tree_")
    if type(tree) is not Tree:
        raise fail(f"{owner}.tree_ is a {type(tree).__name__}, not a Tree")
    if tree.n_features != n_features:
        raise fail(
            f"{owner}.tree_ is for {tree.n_features} features, "
            f"n_features_in_ is {n_features}"
        )
    return tree


def check_decision_tree(state: dict[str, Any]) -> None:
    """DecisionTree*/ExtraTree*: the tree matches ``n_features_in_``/``n_outputs_``."""
    if "tree_" not in state:
        return
    n_features = check_int(
        state.get("n_features_in_"), "DecisionTree.n_features_in_", 1
    )
    tree = _tree_of("DecisionTree", state, n_features)
    n_outputs = state.get("n_outputs_", tree.n_outputs)
    if check_int(n_outputs, "DecisionTree.n_outputs_", 1) != tree.n_outputs:
        raise fail("DecisionTree.n_outputs_ differs from its tree's")


def _sub_state(owner: str, estimator: object) -> dict[str, Any]:
    state = getattr(estimator, "__dict__", None)
    if type(state) is not dict:
        raise fail(f"{owner} is a {type(estimator).__name__}, not an estimator")
    return state


def check_forest(state: dict[str, Any]) -> None:
    """Forests / IsolationForest: every tree matches ``n_features_in_``."""
    if "estimators_" not in state:
        return
    owner = "Forest"
    n_features = check_int(state.get("n_features_in_"), f"{owner}.n_features_in_", 1)
    estimators = state["estimators_"]
    if type(estimators) is not list:
        raise fail(f"{owner}.estimators_ must be a list")
    for i, estimator in enumerate(estimators):
        sub = _sub_state(f"{owner}.estimators_[{i}]", estimator)
        # IsolationForest trees see a subset of the features, indexed by
        # estimators_features_; their n_features_in_ is what they were fit on.
        width = sub.get("n_features_in_", n_features)
        tree = _tree_of(f"{owner}.estimators_[{i}]", sub, check_int(width, owner, 1))
        if tree.n_features > n_features:
            raise fail(f"{owner}.estimators_[{i}] has more features than the forest")


def check_gradient_boosting(state: dict[str, Any]) -> None:
    """GradientBoosting*: ``estimators_`` is ``(n_estimators_, K)`` of fitting trees."""
    if "estimators_" not in state:
        return
    owner = "GradientBoosting"
    n_features = check_int(state.get("n_features_in_"), f"{owner}.n_features_in_", 1)
    estimators = state["estimators_"]
    if type(estimators) is not np.ndarray or estimators.ndim != 2:
        raise fail(f"{owner}.estimators_ must be a 2-d object array")
    per_iteration = check_int(
        state.get("n_trees_per_iteration_", estimators.shape[1]),
        f"{owner}.n_trees_per_iteration_",
        1,
    )
    if estimators.shape[1] != per_iteration:
        raise fail(
            f"{owner}.estimators_ has {estimators.shape[1]} columns for "
            f"{per_iteration} trees per iteration"
        )
    if "n_estimators_" in state and state["n_estimators_"] != estimators.shape[0]:
        raise fail(f"{owner}.n_estimators_ differs from estimators_'s rows")
    init = state.get("init_")
    if per_iteration > 1 and init not in (None, "zero"):
        # Multiclass: the init estimator's predict_proba gives the columns
        # of the array predict_stages then writes out[i, k] into.
        classes = getattr(init, "classes_", None)
        if classes is None or len(classes) != per_iteration:
            raise fail(
                f"{owner}.init_ does not predict {per_iteration} classes "
                "(one per column of estimators_)"
            )
    for (i, k), estimator in np.ndenumerate(estimators):
        where = f"{owner}.estimators_[{i}, {k}]"
        _tree_of(where, _sub_state(where, estimator), n_features)


def check_kmeans(state: dict[str, Any]) -> None:
    """KMeans/MiniBatchKMeans/BisectingKMeans: centers ``(k, n_features_in_)``."""
    if "cluster_centers_" not in state:
        return
    owner = "KMeans"
    n_features = check_int(state.get("n_features_in_"), f"{owner}.n_features_in_", 1)
    centers = state["cluster_centers_"]
    if type(centers) is not np.ndarray or centers.dtype not in (
        np.dtype(np.float64),
        np.dtype(np.float32),
    ):
        raise fail(f"{owner}.cluster_centers_ must be a float32/float64 array")
    if centers.ndim != 2 or centers.shape[0] < 1 or centers.shape[1] != n_features:
        raise fail(
            f"{owner}.cluster_centers_ has shape {shown(centers.shape)}, expected "
            f"(n_clusters, {n_features})"
        )
    if not centers.flags.c_contiguous:
        raise fail(f"{owner}.cluster_centers_ must be C-contiguous")
    if "_n_threads" in state:
        check_int(state["_n_threads"], f"{owner}._n_threads", 1, 1 << 16)


def check_neighbors(state: dict[str, Any]) -> None:
    """Neighbors estimators: the tree indexes the same samples as ``_fit_X``."""
    if "_fit_X" not in state:
        return
    owner = "Neighbors"
    tree = state.get("_tree")
    fit_x = state["_fit_X"]
    n_fit = check_int(
        state.get("n_samples_fit_"), f"{owner}.n_samples_fit_", 0, MAX_DIM
    )
    shape = getattr(fit_x, "shape", None)
    if shape is None or len(shape) != 2 or shape[0] != n_fit:
        raise fail(f"{owner}._fit_X does not hold n_samples_fit_ rows")
    precomputed = state.get("effective_metric_") == "precomputed"
    if not precomputed and "n_features_in_" in state:
        # The brute-force kernels pair X (validated to n_features_in_
        # columns) with _fit_X row by row.
        width = check_int(state["n_features_in_"], f"{owner}.n_features_in_", 1)
        if shape[1] != width:
            raise fail(f"{owner}._fit_X has {shape[1]} columns, not {width}")
    if tree is None:
        return
    if type(tree) not in (KDTree, BallTree):
        raise fail(f"{owner}._tree is a {type(tree).__name__}")
    data = np.asarray(tree.data)
    if data.shape != tuple(shape):
        raise fail(f"{owner}._tree is over {data.shape} data, _fit_X is {tuple(shape)}")


_TREES = "sklearn.tree._classes"
_FORESTS = "sklearn.ensemble._forest"
_NEIGHBORS = {
    "sklearn.neighbors._unsupervised": ("NearestNeighbors",),
    "sklearn.neighbors._classification": (
        "KNeighborsClassifier",
        "RadiusNeighborsClassifier",
    ),
    "sklearn.neighbors._regression": (
        "KNeighborsRegressor",
        "RadiusNeighborsRegressor",
    ),
    "sklearn.neighbors._lof": ("LocalOutlierFactor",),
    "sklearn.neighbors._graph": ("KNeighborsTransformer", "RadiusNeighborsTransformer"),
}

ESTIMATOR_LEVEL_CHECKS: dict[str, Any] = {
    **{
        f"{_TREES}.{name}": check_decision_tree
        for name in (
            "DecisionTreeClassifier",
            "DecisionTreeRegressor",
            "ExtraTreeClassifier",
            "ExtraTreeRegressor",
        )
    },
    **{
        f"{_FORESTS}.{name}": check_forest
        for name in (
            "RandomForestClassifier",
            "RandomForestRegressor",
            "ExtraTreesClassifier",
            "ExtraTreesRegressor",
            "RandomTreesEmbedding",
        )
    },
    "sklearn.ensemble._iforest.IsolationForest": check_forest,
    "sklearn.ensemble._gb.GradientBoostingClassifier": check_gradient_boosting,
    "sklearn.ensemble._gb.GradientBoostingRegressor": check_gradient_boosting,
    "sklearn.cluster._kmeans.KMeans": check_kmeans,
    "sklearn.cluster._kmeans.MiniBatchKMeans": check_kmeans,
    "sklearn.cluster._bisect_k_means.BisectingKMeans": check_kmeans,
    **{
        f"{module}.{name}": check_neighbors
        for module, names in _NEIGHBORS.items()
        for name in names
    },
}
