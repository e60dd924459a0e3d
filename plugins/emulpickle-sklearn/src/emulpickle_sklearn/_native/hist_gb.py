"""HistGradientBoosting: ``TreePredictor`` nodes and what predict indexes with them.

``TreePredictor`` pickles as NEWOBJ of the class and a BUILD of
``{nodes, binned_left_cat_bitsets, raw_left_cat_bitsets}``. The Cython
predictors walk ``nodes[node.left]`` / ``nodes[node.right]`` from node 0
until ``is_leaf``, read ``X[row, node.feature_idx]`` and, for categorical
splits, ``raw_left_cat_bitsets[node.bitset_idx, ...]`` and
``known_cat_bitsets[f_idx_map[node.feature_idx], ...]``, all without bounds
checks. The predictor's own checks (here, before the real constructor):
``nodes`` exactly ``PREDICTOR_RECORD_DTYPE`` and non-empty, each split's
children after it and inside the array (so every walk ends at a leaf),
``feature_idx`` non-negative, categorical splits' ``bitset_idx`` a row of
both bitset arrays (``(k, 8)`` uint32, C-contiguous). What needs the
estimator (``feature_idx < n_features_in_``, categorical splits only on
features the bin mapper marks categorical, the bin mapper's arrays one per
feature) is :func:`check_hist_gradient_boosting` / :func:`check_bin_mapper`
in :data:`ESTIMATOR_CHECKS`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble._hist_gradient_boosting.common import (  # type: ignore[import-untyped]
    PREDICTOR_RECORD_DTYPE,
    X_BITSET_INNER_DTYPE,
)
from sklearn.ensemble._hist_gradient_boosting.predictor import (  # type: ignore[import-untyped]
    TreePredictor,
)

from emulpickle import Registry
from emulpickle.machine.host import Replacement

from ._common import (
    MAX_DIM,
    NativeClass,
    Pending,
    check_array,
    check_int,
    fail,
    refuse_later_builds,
    shown,
)

__all__ = ["check_bin_mapper", "check_hist_gradient_boosting", "register_hist_gb"]

_WHAT = "TreePredictor"
_MODULE = "sklearn.ensemble._hist_gradient_boosting"


class PendingPredictor(Pending):
    """A TreePredictor waiting for its BUILD."""

    __slots__ = ()


def check_predictor_state(state: object) -> dict[str, Any]:
    """The checked BUILD state of a TreePredictor."""
    if type(state) is not dict or set(state) != {
        "nodes",
        "binned_left_cat_bitsets",
        "raw_left_cat_bitsets",
    }:
        keys = sorted(map(str, state)) if type(state) is dict else state
        raise fail(f"{_WHAT} state has keys {shown(keys)}")
    nodes = check_array(state["nodes"], f"{_WHAT}.nodes", PREDICTOR_RECORD_DTYPE, 1)
    count = nodes.shape[0]
    if count < 1:
        raise fail(f"{_WHAT}.nodes is empty")
    bitsets = {}
    for name in ("binned_left_cat_bitsets", "raw_left_cat_bitsets"):
        bitsets[name] = check_array(
            state[name],
            f"{_WHAT}.{name}",
            X_BITSET_INNER_DTYPE,
            shape=(None, 8),
            contiguous=True,
        )
    rows = min(b.shape[0] for b in bitsets.values())
    split = nodes["is_leaf"] == 0
    index = np.arange(count, dtype=np.int64)
    for name in ("left", "right"):
        child = nodes[name].astype(np.int64)
        bad = split & ((child <= index) | (child >= count))
        if bad.any():
            node = int(np.flatnonzero(bad)[0])
            raise fail(
                f"{_WHAT}.nodes[{node}].{name} = {shown(int(child[node]))}, "
                f"not in ({node}, {count})"
            )
    feature = nodes["feature_idx"]
    bad = split & ((feature < 0) | (feature > MAX_DIM))
    categorical = split & (nodes["is_categorical"] != 0)
    bad |= categorical & (nodes["bitset_idx"].astype(np.int64) >= rows)
    if bad.any():
        node = int(np.flatnonzero(bad)[0])
        raise fail(
            f"{_WHAT}.nodes[{node}] has feature_idx "
            f"{shown(int(feature[node]))} / bitset_idx "
            f"{shown(int(nodes['bitset_idx'][node]))} out of range ({rows} bitsets)"
        )
    # Copies: the predictor keeps what it is given, and the file's own
    # arrays stay reachable from the memo.
    copies = {name: array.copy() for name, array in bitsets.items()}
    return {"nodes": nodes.copy(order="C"), **copies}


def _setter(pending: Any, state: Any) -> object:
    if type(pending) is not PendingPredictor:
        raise fail(f"{_WHAT} state applied to a {type(pending).__name__}")
    checked = check_predictor_state(state)
    return Replacement(
        TreePredictor(
            checked["nodes"],
            checked["binned_left_cat_bitsets"],
            checked["raw_left_cat_bitsets"],
        )
    )


def check_bin_mapper(state: dict[str, Any], n_features: int | None = None) -> None:
    """``_BinMapper`` state: one threshold array, flag and count per feature."""
    what = "_BinMapper"
    if "bin_thresholds_" not in state:
        return  # not fitted
    n_bins = check_int(state.get("n_bins"), f"{what}.n_bins", 3, 256)
    missing = check_int(
        state.get("missing_values_bin_idx_"), f"{what}.missing_values_bin_idx_", 0, 255
    )
    if missing != n_bins - 1:
        raise fail(f"{what}.missing_values_bin_idx_ {missing} is not n_bins - 1")
    thresholds = state["bin_thresholds_"]
    if type(thresholds) is not list:
        raise fail(f"{what}.bin_thresholds_ must be a list")
    count = len(thresholds) if n_features is None else n_features
    if len(thresholds) != count:
        raise fail(
            f"{what}.bin_thresholds_ has {len(thresholds)} arrays for {count} features"
        )
    for i, item in enumerate(thresholds):
        arr = check_array(item, f"{what}.bin_thresholds_[{i}]", np.float64, 1)
        if arr.shape[0] > n_bins - 1:
            raise fail(f"{what}.bin_thresholds_[{i}] has more than n_bins - 1 values")
    check_array(
        state.get("is_categorical_"),
        f"{what}.is_categorical_",
        np.uint8,
        shape=(count,),
    )
    check_array(
        state.get("n_bins_non_missing_"),
        f"{what}.n_bins_non_missing_",
        np.uint32,
        shape=(count,),
    )


def check_hist_gradient_boosting(state: dict[str, Any]) -> None:
    """HistGradientBoosting*: predictors fit ``n_features_in_`` and the bin mapper."""
    what = "HistGradientBoosting"
    if "_predictors" not in state:
        return  # not fitted
    n_features = check_int(state.get("n_features_in_"), f"{what}.n_features_in_", 1)
    mapper = state.get("_bin_mapper")
    mapper_state = getattr(mapper, "__dict__", None)
    if type(mapper_state) is not dict or "is_categorical_" not in mapper_state:
        raise fail(f"{what}._bin_mapper is not a fitted _BinMapper")
    check_bin_mapper(mapper_state, n_features)
    is_categorical = mapper_state["is_categorical_"]
    predictors = state["_predictors"]
    if type(predictors) is not list:
        raise fail(f"{what}._predictors must be a list")
    for i, row in enumerate(predictors):
        if type(row) is not list:
            raise fail(f"{what}._predictors[{i}] must be a list")
        for j, predictor in enumerate(row):
            if type(predictor) is not TreePredictor:
                raise fail(
                    f"{what}._predictors[{i}][{j}] is a {type(predictor).__name__}"
                )
            nodes = predictor.nodes
            split = nodes["is_leaf"] == 0
            features = nodes["feature_idx"][split]
            if features.size and int(features.max()) >= n_features:
                raise fail(
                    f"{what}._predictors[{i}][{j}] splits on feature "
                    f"{shown(int(features.max()))} of {n_features}"
                )
            categorical = features[nodes["is_categorical"][split] != 0]
            if categorical.size and not is_categorical[categorical].all():
                raise fail(
                    f"{what}._predictors[{i}][{j}] has a categorical split on a "
                    "feature the bin mapper does not mark categorical"
                )


def register_hist_gb(registry: Registry) -> None:
    """Answer ``TreePredictor``."""
    marker = NativeClass(_WHAT, PendingPredictor)
    registry.register(f"{_MODULE}.predictor", _WHAT, marker)
    registry.register_state_setter(PendingPredictor, _setter)
    refuse_later_builds(registry, TreePredictor)
