"""Hostile native state: refused before the real object exists, in a child.

Each file names a real scikit-learn / numpy / scipy type with a state its C
code trusts and that is wrong (an index out of range, a loop, a short key, a
wrong shape or dtype). The child (RLIMIT_AS, no core dumps, a hang guard)
loads every file with emulpickle and the native registry: each must be
refused with an EmulationError, and the canary (written once a load
returns, before the object is used) must not exist. The same files loaded
with real ``pickle`` in a child are accepted and then crash the process when
used: the checks are what stands between such a file and the crash.
"""

from __future__ import annotations

import copyreg
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from native_helpers import (
    Forged,
    emulate,
    forged_bytes,
    rebuilt_later,
    refused_all,
    run_child,
    set_later,
    twice_built,
)
from sklearn.datasets import load_iris
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.neighbors import KDTree
from sklearn.neighbors._kd_tree import newObj
from sklearn.tree import DecisionTreeClassifier
from sklearn.tree._tree import Tree

import emulpickle

HUGE = 10**9


@pytest.fixture(scope="module")
def iris() -> tuple[Any, Any]:
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def tree(iris: tuple[Any, Any]) -> Any:
    X, y = iris
    return DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y).tree_


def _tree_file(tmp: Path, name: str, tree: Any, change: Any) -> Path:
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    args = [tree.n_features, np.asarray(tree.n_classes).copy(), tree.n_outputs]
    state = dict(state, nodes=nodes)
    change(state, nodes, args)
    path = tmp / f"tree-{name}.pkl"
    path.write_bytes(forged_bytes(Tree, tuple(args), state))
    return path


def _set(field: str, value: int, index: int = 0) -> Any:
    def change(state: dict[str, Any], nodes: Any, args: list[Any]) -> None:
        nodes[field][index] = value

    return change


def _tree_cases(tmp: Path, tree: Any) -> dict[str, Path]:
    def other_dtype(state: dict[str, Any], nodes: Any, args: list[Any]) -> None:
        # Same names and layout, but threshold an int64: not a node record.
        fields = dict(nodes.dtype.fields)
        fields["threshold"] = (np.dtype(np.int64), fields["threshold"][1])
        dtype = np.dtype(
            {
                "names": list(nodes.dtype.names),
                "formats": [fields[n][0] for n in nodes.dtype.names],
                "offsets": [fields[n][1] for n in nodes.dtype.names],
                "itemsize": nodes.dtype.itemsize,
            }
        )
        state["nodes"] = np.zeros(nodes.shape, dtype=dtype)

    def bad_values(state: dict[str, Any], nodes: Any, args: list[Any]) -> None:
        state["values"] = np.ascontiguousarray(state["values"][:, :, :2])

    def short_nodes(state: dict[str, Any], nodes: Any, args: list[Any]) -> None:
        state["node_count"] = nodes.shape[0] + 5

    def zero_classes(state: dict[str, Any], nodes: Any, args: list[Any]) -> None:
        args[1][0] = 0

    def transposed_values(state: dict[str, Any], nodes: Any, args: list[Any]) -> None:
        state["values"] = np.asfortranarray(state["values"])

    cases = {
        "child-out-of-range": _set("left_child", HUGE),
        "self-loop": _set("left_child", 0),
        "child-before-parent": _set("right_child", 1, 2),
        "one-child": _set("right_child", -1),
        "feature-too-large": _set("feature", HUGE),
        "feature-negative": _set("feature", -5),
        "missing-flag": _set("missing_go_to_left", 7),
        "other-dtype": other_dtype,
        "values-shape": bad_values,
        "values-fortran": transposed_values,
        "node-count": short_nodes,
        "n-classes-zero": zero_classes,
    }
    return {name: _tree_file(tmp, name, tree, fn) for name, fn in cases.items()}


def _predictor_cases(tmp: Path, iris: tuple[Any, Any]) -> dict[str, Path]:
    X, y = iris
    model = HistGradientBoostingRegressor(max_iter=2, random_state=0).fit(X, y)
    predictor = model._predictors[0][0]
    state = predictor.__dict__
    out = {}
    for name, field, value in (
        ("left", "left", 2**31),
        ("right-loop", "right", 0),
        ("feature-negative", "feature_idx", -HUGE),
        ("bitset", "bitset_idx", 5),
    ):
        nodes = state["nodes"].copy()
        nodes[field][0] = value
        if field == "bitset_idx":
            nodes["is_categorical"][0] = 1
        path = tmp / f"predictor-{name}.pkl"
        path.write_bytes(
            forged_bytes(
                copyreg.__newobj__, (TreePredictor,), dict(state, nodes=nodes), 1
            )
        )
        out[name] = path
    return out


def _kdtree_cases(tmp: Path) -> dict[str, Path]:
    data = np.random.default_rng(0).random((40, 3))
    tree = KDTree(data, leaf_size=4)
    out = {}

    def write(name: str, change: Any) -> None:
        state = list(tree.__getstate__())
        state[1] = state[1].copy()
        state[2] = state[2].copy()
        change(state)
        path = tmp / f"kdtree-{name}.pkl"
        path.write_bytes(forged_bytes(newObj, (KDTree,), tuple(state)))
        out[name] = path

    write("idx-out-of-range", lambda s: s[1].__setitem__(0, 10**10))
    write("idx-duplicate", lambda s: s[1].__setitem__(0, s[1][1]))
    write("node-end", lambda s: s[2]["idx_end"].__setitem__(-1, 10**6))
    write("leaf-flag", lambda s: s[2]["is_leaf"].__setitem__(-1, 0))
    write("n-nodes", lambda s: s.__setitem__(6, s[6] + 2))
    write("bounds-shape", lambda s: s.__setitem__(3, s[3][:, :, :2].copy()))
    return out


def _sparse_cases(tmp: Path) -> dict[str, Path]:
    matrix = sp.csr_matrix(np.eye(4))
    out = {}
    for name, key, index, value in (
        ("indices", "indices", 1, HUGE),
        ("indptr-decreasing", "indptr", 2, 0),
        ("indptr-end", "indptr", 4, 10**6),
        ("indptr-start", "indptr", 0, 1),
    ):
        state = dict(matrix.__dict__)
        state[key] = state[key].copy()
        if state[key].dtype == np.int32 and value > 2**31 - 1:
            state[key] = state[key].astype(np.int64)
        state[key][index] = value
        path = tmp / f"csr-{name}.pkl"
        path.write_bytes(forged_bytes(copyreg.__newobj__, (sp.csr_matrix,), state, 1))
        out[name] = path
    coo = sp.coo_matrix(np.eye(3))
    state = dict(coo.__dict__, coords=(coo.coords[0], coo.coords[1] + 5))
    path = tmp / "coo-coords.pkl"
    path.write_bytes(forged_bytes(copyreg.__newobj__, (sp.coo_matrix,), state, 1))
    out["coo"] = path
    return out


class _State:
    """A RandomState pickled with a chosen legacy state."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def __reduce__(self) -> Any:
        rs = np.random.RandomState(0)
        return (rs.__reduce__()[0], rs.__reduce__()[1], self.state)


def _random_cases(tmp: Path) -> dict[str, Path]:
    base = np.random.RandomState(0).__getstate__()
    out = {}

    def write(name: str, state: Any) -> None:
        path = tmp / f"random-{name}.pkl"
        path.write_bytes(pickle.dumps(_State(state), protocol=4))
        out[name] = path

    key = base["state"]["key"]
    write("short-key", dict(base, state={"key": key[:600].copy(), "pos": 3}))
    write("pos", dict(base, state={"key": key, "pos": 10**8}))
    write("key-dtype", dict(base, state={"key": key.astype(np.int64), "pos": 3}))
    write("gauss-flag", dict(base, has_gauss=5))
    pcg = np.random.PCG64(1)
    state = dict(pcg.state, state={"state": 2**200, "inc": 1})
    path = tmp / "random-pcg.pkl"
    ctor = pcg.__reduce__()[0]  # numpy.random._pickle.__bit_generator_ctor
    path.write_bytes(forged_bytes(ctor, (type(pcg),), (state, None)))
    out["pcg"] = path
    return out


def test_hostile_native_states_are_refused(
    tmp_path: Path, tree: Any, iris: Any
) -> None:
    """Every crafted file is refused with EmulationError before anything uses it."""
    cases = {
        **{f"tree {k}": (v, "tree") for k, v in _tree_cases(tmp_path, tree).items()},
        **{
            f"predictor {k}": (v, "predictor")
            for k, v in _predictor_cases(tmp_path, iris).items()
        },
        **{f"kdtree {k}": (v, "kdtree") for k, v in _kdtree_cases(tmp_path).items()},
        **{f"sparse {k}": (v, "sparse") for k, v in _sparse_cases(tmp_path).items()},
        **{f"random {k}": (v, "random") for k, v in _random_cases(tmp_path).items()},
    }
    result = refused_all(list(cases.values()), tmp_path)
    messages = {name: result[str(path)][2] for name, (path, _) in cases.items()}
    assert "left_child" in messages["tree child-out-of-range"]
    assert "feature" in messages["tree feature-too-large"]
    assert "Tree.values" in messages["tree values-shape"]
    assert "Tree.nodes has" in messages["tree other-dtype"]
    assert "idx_array" in messages["kdtree idx-out-of-range"]
    assert "indices" in messages["sparse indices"]
    assert "pos" in messages["random pos"]
    assert "key" in messages["random short-key"]
    assert "bitset_idx" in messages["predictor bitset"]


@pytest.mark.parametrize(
    ("kind", "case", "action"),
    [
        ("tree", "child-out-of-range", "tree"),
        ("kdtree", "idx-out-of-range", "kdtree"),
        ("sparse", "indices", "sparse"),
    ],
)
def test_the_same_file_crashes_real_pickle(
    tmp_path: Path, tree: Any, kind: str, case: str, action: str
) -> None:
    """Real pickle accepts the file and the process dies using it (in the child)."""
    make = {
        "tree": lambda: _tree_cases(tmp_path, tree),
        "kdtree": lambda: _kdtree_cases(tmp_path),
        "sparse": lambda: _sparse_cases(tmp_path),
    }[kind]
    path = make()[case]
    proc, canary = run_child("pickle", [(path, action)], tmp_path)
    assert canary.exists(), proc.stderr[-2000:]  # pickle accepted it
    assert proc.returncode < 0, (proc.returncode, proc.stdout[-500:])  # a signal


def test_a_second_build_is_refused(tmp_path: Path, tree: Any, iris: Any) -> None:
    """A checked object takes no further BUILD: the machine's default BUILD
    (``__setstate__``, ``__dict__`` update) would set an unchecked state."""
    good = tree.__getstate__()
    nodes = good["nodes"].copy()
    nodes["left_child"][0] = HUGE
    args = (tree.n_features, np.asarray(tree.n_classes), tree.n_outputs)
    tree_path = tmp_path / "tree-twice.pkl"
    tree_path.write_bytes(twice_built(Tree, args, good, dict(good, nodes=nodes)))
    X, y = iris
    model = HistGradientBoostingRegressor(max_iter=2, random_state=0).fit(X, y)
    state = model._predictors[0][0].__dict__
    bad = state["nodes"].copy()
    bad["left"][0] = 2**31
    predictor_path = tmp_path / "predictor-twice.pkl"
    predictor_path.write_bytes(
        twice_built(copyreg.__newobj__, (TreePredictor,), state, dict(state, nodes=bad))
    )
    matrix = sp.csr_matrix(np.eye(3))
    broken = dict(matrix.__dict__, indices=np.array([0, 1, HUGE]))
    csr_path = tmp_path / "csr-twice.pkl"
    csr_path.write_bytes(
        twice_built(copyreg.__newobj__, (sp.csr_matrix,), matrix.__dict__, broken)
    )
    jobs = [(tree_path, "tree"), (predictor_path, "predictor"), (csr_path, "sparse")]
    result = refused_all(jobs, tmp_path)
    for path, _ in jobs:
        assert "second BUILD" in result[str(path)][2]


def test_an_unbuilt_tree_stays_inert(tree: Any) -> None:
    """``Tree(...)`` without its BUILD is a placeholder, never an empty real
    Tree (whose predict would read node 0 of an empty array)."""
    args = (tree.n_features, np.asarray(tree.n_classes), tree.n_outputs)
    got = emulate(pickle.dumps(Forged(Tree, args), protocol=4))
    assert not isinstance(got, Tree)
    assert "unbuilt" in repr(got)


def test_arrays_changed_after_the_build_are_refused() -> None:
    """A file cannot change an array a native object was built from: a second
    BUILD on it or a SETITEM into it (the memo hands the array out again) is
    refused (and the objects keep copies of the checked arrays besides)."""
    data = np.random.default_rng(0).random((30, 2))
    kd = KDTree(data, leaf_size=4)
    state = kd.__getstate__()
    bad = state[1].copy()
    bad[0] = HUGE
    for attack in (
        rebuilt_later(newObj, (KDTree,), state, state[1], bad),
        set_later(newObj, (KDTree,), state, state[1], 0, HUGE),
    ):
        with pytest.raises(emulpickle.EmulationError):
            emulate(attack)
    matrix = sp.csr_matrix(np.eye(3))
    indices = matrix.indices
    wide = np.array([0, 1, HUGE], dtype=indices.dtype if HUGE < 2**31 else np.int64)
    for attack in (
        rebuilt_later(
            copyreg.__newobj__, (sp.csr_matrix,), matrix.__dict__, indices, wide
        ),
        set_later(copyreg.__newobj__, (sp.csr_matrix,), matrix.__dict__, indices, 2, 2),
    ):
        with pytest.raises(emulpickle.EmulationError):
            emulate(attack)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("Hinge", (float("nan"),)),
        ("Hinge", ("1.0",)),
        ("Hinge", (1.0, 2.0)),
        ("SquaredHinge", (float("inf"),)),
        ("EpsilonInsensitive", (-1.0,)),
        ("SquaredEpsilonInsensitive", (True,)),
        ("ModifiedHuber", (1.0,)),
    ],
)
def test_sgd_loss_arguments_are_checked(name: str, args: tuple[Any, ...]) -> None:
    """SGD's Cython losses get one finite number in range, or none."""
    import sklearn.linear_model._sgd_fast as sgd

    with pytest.raises(emulpickle.EmulationError):
        emulate(forged_bytes(getattr(sgd, name), args))
    ok = emulate(forged_bytes(sgd.Hinge, (0.5,)))
    assert type(ok) is sgd.Hinge
