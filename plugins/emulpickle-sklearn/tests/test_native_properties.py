"""Property tests: a mutated native state is refused, or it is safe to use.

Hypothesis changes node records of a real tree / KDTree / TreePredictor /
csr matrix to arbitrary values (in range, out of range, negative, huge).
Whatever the native emulators accept must satisfy, checked here by a pure
Python walk, the invariants the C code relies on (every walk from the root
ends at a leaf within node_count steps, every index inside its array), and
the accepted object is then used (predict / query / product). Everything
else must be refused with EmulationError (never another exception).
"""

from __future__ import annotations

import copyreg
import pickle
from typing import Any

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from native_helpers import emulate, forged_bytes
from sklearn.datasets import load_iris
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.neighbors import KDTree
from sklearn.neighbors._kd_tree import newObj
from sklearn.tree import DecisionTreeRegressor
from sklearn.tree._tree import Tree

import emulpickle

X, Y = load_iris(return_X_y=True)
TREE = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, Y).tree_
PREDICTOR = (
    HistGradientBoostingRegressor(max_iter=1, max_leaf_nodes=6, random_state=0)
    .fit(X, Y)
    ._predictors[0][0]
)
KD = KDTree(X[:40], leaf_size=5)
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

VALUES = st.one_of(
    st.integers(-3, 20), st.sampled_from([10**9, -(10**9), 2**31, 2**62])
)
EDITS = st.lists(st.tuples(st.integers(0, 100), VALUES), min_size=1, max_size=4)


def _load(data: bytes) -> Any:
    try:
        return emulate(data)
    except emulpickle.EmulationError:
        return None


def _walk(left: Any, right: Any, is_leaf: Any, count: int) -> list[int]:
    """Every node a walk from the root can reach; asserts it ends in range."""
    reached, todo = [], [0]
    while todo:
        node = todo.pop()
        assert 0 <= node < count
        reached.append(node)
        assert len(reached) <= count  # no loops, no sharing
        if not is_leaf(node):
            todo += [int(left[node]), int(right[node])]
    return reached


@SETTINGS
@given(field=st.sampled_from(["left_child", "right_child", "feature"]), edits=EDITS)
def test_tree_mutations(field: str, edits: list[tuple[int, int]]) -> None:
    state = TREE.__getstate__()
    nodes = state["nodes"].copy()
    for index, value in edits:
        nodes[field][index % len(nodes)] = value
    args = (TREE.n_features, np.asarray(TREE.n_classes), TREE.n_outputs)
    got = _load(forged_bytes(Tree, args, dict(state, nodes=nodes)))
    if got is None:
        return
    left, right, feature = nodes["left_child"], nodes["right_child"], nodes["feature"]
    for node in _walk(left, right, lambda n: left[n] == -1, len(nodes)):
        if left[node] != -1:
            assert 0 <= feature[node] < TREE.n_features
    got.predict(X.astype(np.float32))


@SETTINGS
@given(
    field=st.sampled_from(["left", "right", "feature_idx", "bitset_idx"]),
    edits=EDITS,
    categorical=st.booleans(),
)
def test_predictor_mutations(
    field: str, edits: list[tuple[int, int]], categorical: bool
) -> None:
    state = PREDICTOR.__dict__
    nodes = state["nodes"].copy()
    dtype = nodes.dtype[field]
    for index, value in edits:
        if np.can_cast(np.min_scalar_type(value), dtype):
            nodes[field][index % len(nodes)] = value
    if categorical:
        nodes["is_categorical"][0] = 1
    data = forged_bytes(
        copyreg.__newobj__, (TreePredictor,), dict(state, nodes=nodes), 1
    )
    got = _load(data)
    if got is None:
        return
    reached = _walk(
        nodes["left"], nodes["right"], lambda n: nodes["is_leaf"][n], len(nodes)
    )
    for node in reached:
        if not nodes["is_leaf"][node]:
            assert nodes["feature_idx"][node] >= 0
            if nodes["is_categorical"][node]:
                assert nodes["bitset_idx"][node] < len(state["raw_left_cat_bitsets"])
    if int(nodes["feature_idx"][reached].max()) < X.shape[1] and not categorical:
        fmap = np.zeros(X.shape[1], dtype=np.uint32)
        got.predict(X, np.zeros((0, 8), dtype=np.uint32), fmap, 1)


@SETTINGS
@given(
    field=st.sampled_from(["idx_array", "idx_start", "idx_end", "is_leaf"]),
    edits=EDITS,
)
def test_kdtree_mutations(field: str, edits: list[tuple[int, int]]) -> None:
    state = list(KD.__getstate__())
    state[1], state[2] = state[1].copy(), state[2].copy()
    target = state[1] if field == "idx_array" else state[2][field]
    for index, value in edits:
        target[index % len(target)] = value
    got = _load(forged_bytes(newObj, (KDTree,), tuple(state)))
    if got is None:
        return
    n_samples = state[0].shape[0]
    assert sorted(state[1].tolist()) == list(range(n_samples))
    node_data = state[2]
    for node in range(len(node_data)):
        assert 0 <= node_data["idx_start"][node] <= node_data["idx_end"][node]
        assert node_data["idx_end"][node] <= n_samples
        if not node_data["is_leaf"][node]:
            assert 2 * node + 2 < len(node_data)
    got.query(X[:3], k=5)


@SETTINGS
@given(field=st.sampled_from(["indptr", "indices"]), edits=EDITS)
def test_csr_mutations(field: str, edits: list[tuple[int, int]]) -> None:
    matrix = sp.random(6, 5, density=0.5, random_state=0, format="csr")
    state = dict(matrix.__dict__)
    target = state[field].astype(np.int64)
    for index, value in edits:
        target[index % len(target)] = value
    state[field] = target
    got = _load(forged_bytes(copyreg.__newobj__, (sp.csr_matrix,), state, 1))
    if got is None:
        return
    indptr, indices = state["indptr"], state["indices"]
    assert indptr[0] == 0 and (np.diff(indptr) >= 0).all()
    assert indptr[-1] <= len(indices)
    assert ((indices[: indptr[-1]] >= 0) & (indices[: indptr[-1]] < 5)).all()
    got @ np.ones(5)
    got.toarray()


def test_pickle_of_the_accepted_state_is_the_real_one() -> None:
    """Sanity for the harness: the unmutated files load."""
    args = (TREE.n_features, np.asarray(TREE.n_classes), TREE.n_outputs)
    assert isinstance(_load(forged_bytes(Tree, args, TREE.__getstate__())), Tree)
    assert isinstance(_load(pickle.dumps(KD)), KDTree)
