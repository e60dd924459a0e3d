"""``sklearn.tree._tree.Tree``: every node checked before the real tree exists.

sklearn pickles a tree as ``Tree(n_features, n_classes, n_outputs)`` and a
BUILD with ``{max_depth, node_count, nodes, values}``. ``Tree.__setstate__``
copies ``nodes`` and ``values`` into its C arrays after checking only their
dtype and the values' shape; ``predict``/``apply`` then follow
``nodes[i].left_child`` / ``right_child`` and read ``X[i, nodes[i].feature]``
with no bounds check. So before the real tree is made this module checks:
the constructor's arguments, the node records' dtype field by field, every
child index inside the node array and greater than its parent's (which rules
out loops and sharing: the walk from the root always ends at a leaf), leaves
marked by ``-1`` on both sides, every split's feature below ``n_features``,
``missing_go_to_left`` 0 or 1, ``node_count`` equal to the node array's
length, and ``values`` exactly ``(node_count, n_outputs, max(n_classes))``
C-contiguous float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.tree._tree import (  # type: ignore[import-untyped]
    NODE_DTYPE,
    TREE_LEAF,
    Tree,
)

from emulpickle import Registry
from emulpickle.machine.host import Replacement

from ._common import (
    MAX_DIM,
    Pending,
    check_array,
    check_int,
    fail,
    refuse_later_builds,
    shown,
)

__all__ = ["register_tree"]

_WHAT = "Tree"
#: Largest number of outputs (classes per output are bounded by the values
#: array, which the file must hold).
_MAX_OUTPUTS = 1 << 16


class PendingTree(Pending):
    """``Tree(n_features, n_classes, n_outputs)`` waiting for its BUILD."""

    __slots__ = ()


class TreeClass:
    """Answers ``sklearn.tree._tree.Tree``: REDUCE checks the arguments."""

    def __repr__(self) -> str:
        return "<emulated sklearn.tree._tree.Tree>"

    def py_call(self, *args: object) -> object:
        """``Tree(n_features, n_classes, n_outputs)``, checked."""
        if len(args) != 3:
            raise fail(f"{_WHAT}() takes (n_features, n_classes, n_outputs)")
        n_features = check_int(args[0], f"{_WHAT}.n_features", 1, MAX_DIM)
        n_outputs = check_int(args[2], f"{_WHAT}.n_outputs", 1, _MAX_OUTPUTS)
        n_classes = check_array(args[1], f"{_WHAT}.n_classes", np.intp, 1)
        if n_classes.shape[0] != n_outputs:
            raise fail(
                f"{_WHAT}.n_classes has {n_classes.shape[0]} entries for "
                f"{n_outputs} outputs"
            )
        if int(n_classes.min()) < 1 or int(n_classes.max()) > MAX_DIM:
            raise fail(f"{_WHAT}.n_classes has an entry outside [1, {MAX_DIM}]")
        return PendingTree(_WHAT, (n_features, n_classes.copy(), n_outputs))


def check_nodes(nodes: np.ndarray[Any, Any], n_features: int, what: str) -> None:
    """The node records a tree walk follows: children, features, flags."""
    count = nodes.shape[0]
    left = nodes["left_child"]
    right = nodes["right_child"]
    leaf = left == TREE_LEAF
    if not np.array_equal(leaf, right == TREE_LEAF):
        bad = int(np.flatnonzero(leaf != (right == TREE_LEAF))[0])
        raise fail(f"{what}: node {bad} has exactly one child (a leaf has none)")
    index = np.arange(count, dtype=np.intp)
    split = ~leaf
    for name, child in (("left_child", left), ("right_child", right)):
        bad_child = split & ((child <= index) | (child >= count))
        if bad_child.any():
            bad = int(np.flatnonzero(bad_child)[0])
            raise fail(
                f"{what}: node {bad} has {name} {shown(int(child[bad]))}, not "
                f"in ({bad}, {count})"
            )
    feature = nodes["feature"]
    bad_feature = split & ((feature < 0) | (feature >= n_features))
    if bad_feature.any():
        bad = int(np.flatnonzero(bad_feature)[0])
        raise fail(
            f"{what}: node {bad} splits on feature {shown(int(feature[bad]))}, "
            f"not in [0, {n_features})"
        )
    if split.any():
        # Each node has one parent at most: a tree, not a graph whose shared
        # subtrees make compute_feature_importances and decision_path
        # visit nodes more often than their arrays allow.
        children = np.concatenate([left[split], right[split]])
        if np.unique(children).shape[0] != children.shape[0]:
            raise fail(f"{what}: a node is the child of two splits")
    missing = nodes["missing_go_to_left"]
    if (missing > 1).any():
        bad = int(np.flatnonzero(missing > 1)[0])
        raise fail(f"{what}: node {bad} has missing_go_to_left {int(missing[bad])}")


def _native_nodes(value: object) -> object:
    """Node records written on another platform (other byte order, 32-bit
    ``intp``) as this one's NODE_DTYPE, as sklearn's own ``__setstate__``
    converts them: same field names in the same order, each of the same kind
    (signed int, float, unsigned byte). Anything else is left for the exact
    dtype check to refuse."""
    if type(value) is not np.ndarray or value.dtype == NODE_DTYPE:
        return value
    names = value.dtype.names
    if names != NODE_DTYPE.names or value.ndim != 1:
        return value
    fields = value.dtype.fields or {}
    expected = NODE_DTYPE.fields or {}
    for name in names:
        got, want = fields[name][0], expected[name][0]
        if got.kind != want.kind or got.itemsize > want.itemsize or got.shape:
            return value
    return value.astype(NODE_DTYPE, casting="same_kind")


def set_tree_state(pending: Any, state: Any) -> object:
    """BUILD of a pending tree: validate the state, then make the real tree."""
    if type(pending) is not PendingTree:
        raise fail(f"{_WHAT} state applied to a {type(pending).__name__}")
    n_features, n_classes, n_outputs = pending.args
    if type(state) is not dict:
        raise fail(f"{_WHAT} state must be a dict, not {type(state).__name__}")
    keys = set(state)
    expected = {"max_depth", "node_count", "nodes", "values"}
    if keys != expected:
        raise fail(f"{_WHAT} state has keys {shown(sorted(map(str, keys)))}")
    node_count = check_int(state["node_count"], f"{_WHAT}.node_count", 1)
    check_int(state["max_depth"], f"{_WHAT}.max_depth", 0, node_count)
    nodes = check_array(_native_nodes(state["nodes"]), f"{_WHAT}.nodes", NODE_DTYPE, 1)
    if nodes.shape[0] != node_count:
        raise fail(
            f"{_WHAT}.nodes has {nodes.shape[0]} records for node_count {node_count}"
        )
    shape = (node_count, n_outputs, int(n_classes.max()))
    check_array(
        state["values"], f"{_WHAT}.values", np.float64, shape=shape, contiguous=True
    )
    check_nodes(nodes, n_features, f"{_WHAT}.nodes")
    tree = Tree(n_features, n_classes, n_outputs)
    tree.__setstate__(
        {
            "max_depth": int(state["max_depth"]),
            "node_count": node_count,
            "nodes": np.ascontiguousarray(nodes),
            "values": state["values"],
        }
    )
    return Replacement(tree)


def register_tree(registry: Registry) -> None:
    """Answer ``sklearn.tree._tree.Tree``."""
    registry.register("sklearn.tree._tree", "Tree", TreeClass())
    registry.register_state_setter(PendingTree, set_tree_state)
    refuse_later_builds(registry, Tree)
