"""Differential: native objects saved by pickle (protocols 2-5) and joblib
(compress 0 and 3) load through the native emulators as real objects that
answer exactly like the originals (predictions, queries, draws, products).
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import sklearn._loss.loss as losses
from native_helpers import REGISTRY, emulate, forged_bytes
from sklearn.datasets import load_iris
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    RandomForestRegressor,
)
from sklearn.neighbors import BallTree, KDTree
from sklearn.tree import DecisionTreeClassifier, ExtraTreeRegressor
from sklearn.tree._tree import NODE_DTYPE, Tree

import emulpickle

X, Y = load_iris(return_X_y=True)
XQ = np.random.default_rng(1).random((20, 4)) * 6
X32 = X.astype(np.float32)


def _trees() -> list[tuple[str, Any, Callable[[Any], Any]]]:
    clf = DecisionTreeClassifier(random_state=0).fit(X, Y).tree_
    multi = ExtraTreeRegressor(random_state=0).fit(X, np.c_[Y, X[:, 0]]).tree_
    forest = RandomForestRegressor(n_estimators=2, random_state=0).fit(X, Y)
    with_nan = X.copy()
    with_nan[::7, 1] = np.nan
    missing = DecisionTreeClassifier(random_state=0).fit(with_nan, Y).tree_
    x_nan = XQ.astype(np.float32).copy()
    x_nan[::3, 1] = np.nan
    return [
        ("tree-clf", clf, lambda t: t.predict(X32)),
        ("tree-multi", multi, lambda t: t.predict(X32)),
        ("tree-forest", forest.estimators_[1].tree_, lambda t: t.apply(X32)),
        ("tree-missing", missing, lambda t: t.predict(x_nan)),
    ]


def _predictors() -> list[tuple[str, Any, Callable[[Any], Any]]]:
    cat = np.c_[np.floor(X[:, 0]), X[:, 1:]]
    model = HistGradientBoostingClassifier(
        max_iter=3, categorical_features=[0], random_state=0
    ).fit(cat, Y)
    bitsets, fmap = model._bin_mapper.make_known_categories_bitsets()
    out = []
    for i, predictor in enumerate(model._predictors[-1]):
        out.append(
            (
                f"predictor-{i}",
                predictor,
                lambda p: p.predict(cat, bitsets, fmap, 1),
            )
        )
    return out


def _neighbors() -> list[tuple[str, Any, Callable[[Any], Any]]]:
    out = []
    weights = np.linspace(0.5, 2.0, 4)
    for cls in (KDTree, BallTree):
        for metric, params in (
            ("euclidean", {}),
            ("manhattan", {}),
            ("chebyshev", {}),
            ("minkowski", {"p": 3}),
            ("minkowski", {"p": 1.5, "w": weights}),
        ):
            tree = cls(X, leaf_size=5, metric=metric, **params)
            out.append(
                (
                    f"{cls.__name__}-{metric}",
                    tree,
                    lambda t: (t.query(XQ, k=4), t.query_radius(XQ[:3], r=1.0)),
                )
            )
    ball = BallTree(X[:, :2], metric="haversine")
    out.append(("BallTree-haversine", ball, lambda t: t.query(XQ[:, :2] / 10, k=3)))
    seu = BallTree(X, metric="seuclidean", V=np.var(X, axis=0))
    out.append(("BallTree-seuclidean", seu, lambda t: t.query(XQ, k=3)))
    maha = BallTree(X, metric="mahalanobis", VI=np.linalg.inv(np.cov(X.T)))
    out.append(("BallTree-mahalanobis", maha, lambda t: t.query(XQ, k=3)))
    kd_weighted = KDTree(X, sample_weight=np.linspace(1, 2, len(X)))
    out.append(("KDTree-weights", kd_weighted, lambda t: t.kernel_density(XQ, h=0.5)))
    return out


def _draw(obj: Any) -> Any:
    if isinstance(obj, np.random.RandomState):
        return obj.randint(0, 1000, 50), obj.standard_normal(3)
    if isinstance(obj, np.random.Generator):
        return obj.integers(0, 1000, 50), obj.random(3)
    return obj.random_raw(50)


def _random() -> list[tuple[str, Any, Callable[[Any], Any]]]:
    gauss = np.random.RandomState(3)
    gauss.standard_normal()  # has_gauss = 1
    philox = np.random.Philox(5)
    philox.random_raw(3)  # buffer_pos inside the buffer
    objects = {
        "RandomState": np.random.RandomState(7),
        "RandomState-gauss": gauss,
        "Generator-PCG64": np.random.default_rng(11),
        "Generator-PCG64DXSM": np.random.Generator(np.random.PCG64DXSM(2)),
        "Generator-Philox": np.random.Generator(philox),
        "Generator-SFC64": np.random.Generator(np.random.SFC64(4)),
        "Generator-MT19937": np.random.Generator(np.random.MT19937(4)),
        "MT19937": np.random.MT19937(8),
        "spawned": np.random.default_rng(1).spawn(2)[1],
    }
    return [(name, obj, _draw) for name, obj in objects.items()]


def _sparse() -> list[tuple[str, Any, Callable[[Any], Any]]]:
    dense = sp.random(7, 5, density=0.4, random_state=2).toarray()
    out = []
    for fmt in ("csr", "csc", "coo", "bsr", "dia", "lil"):
        for kind in ("matrix", "array"):
            cls = getattr(sp, f"{fmt}_{kind}")
            out.append(
                (
                    f"{fmt}_{kind}",
                    cls(dense),
                    lambda m: (type(m), m.toarray(), m @ np.arange(5.0)),
                )
            )
    ints = sp.csr_matrix(np.eye(4, dtype=np.int64) * 3)
    out.append(("csr-int", ints, lambda m: (m.dtype, m.toarray())))
    return out


def _losses() -> list[tuple[str, Any, Callable[[Any], Any]]]:
    y_true = np.array([0.5, 1.0, 2.0, 1.0])
    raw = np.array([0.1, -0.3, 0.7, 0.2])
    multi_raw = np.random.default_rng(0).random((4, 3))
    out: list[tuple[str, Any, Callable[[Any], Any]]] = []
    for loss in (
        losses.HalfSquaredError(),
        losses.AbsoluteError(),
        losses.PinballLoss(quantile=0.3),
        losses.HuberLoss(quantile=0.8),
        losses.HalfPoissonLoss(),
        losses.HalfGammaLoss(),
        losses.HalfTweedieLoss(power=1.5),
        losses.HalfTweedieLossIdentity(power=1.5),
        losses.ExponentialLoss(),
    ):
        out.append(
            (
                type(loss).__name__,
                loss,
                lambda lo: (type(lo), lo.loss(y_true, raw), lo.gradient(y_true, raw)),
            )
        )
    out.append(
        (
            "HalfBinomialLoss",
            losses.HalfBinomialLoss(),
            lambda lo: lo.loss(np.array([0.0, 1.0, 1.0, 0.0]), raw),
        )
    )
    out.append(
        (
            "HalfMultinomialLoss",
            losses.HalfMultinomialLoss(n_classes=3),
            lambda lo: lo.loss(np.array([0.0, 1.0, 2.0, 1.0]), multi_raw),
        )
    )
    return out


CASES = _trees() + _predictors() + _neighbors() + _random() + _sparse() + _losses()


def _equal(got: Any, want: Any) -> None:
    if isinstance(want, (tuple, list)):
        assert type(got) is type(want) and len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            _equal(a, b)
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype == want.dtype
        if want.dtype == object:
            for a, b in zip(got, want, strict=True):
                _equal(a, b)
        else:
            np.testing.assert_array_equal(got, want)
    else:
        assert got == want


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize(("name", "obj", "use"), CASES, ids=[c[0] for c in CASES])
def test_pickle_round_trip(
    name: str, obj: Any, use: Callable[[Any], Any], protocol: int
) -> None:
    """pickle.dumps -> native emulators -> a real object answering the same."""
    data = pickle.dumps(obj, protocol=protocol)
    got = emulate(data)
    assert type(got) is type(obj)
    want_obj = pickle.loads(data)  # fresh: draws must start from the same state
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _equal(use(got), use(want_obj))


JOBLIB_CASES = [c for c in CASES if not c[0].startswith(("Generator", "MT", "spawn"))]


@pytest.mark.parametrize("compress", [0, 3])
@pytest.mark.parametrize(
    ("name", "obj", "use"), JOBLIB_CASES[::3], ids=[c[0] for c in JOBLIB_CASES[::3]]
)
def test_joblib_round_trip(
    tmp_path: Path, name: str, obj: Any, use: Callable[[Any], Any], compress: int
) -> None:
    """joblib.dump -> emulpickle.open_file with the native registry -> same answers."""
    path = tmp_path / "obj.joblib"
    joblib.dump(obj, path, compress=compress)
    got = emulpickle.open_file(path, registry=REGISTRY).value
    want = joblib.load(path)
    assert type(got) is type(want)
    _equal(use(got), use(want))


def test_tree_nodes_from_another_platform() -> None:
    """Big-endian, 32-bit ``intp`` node records convert like sklearn's own
    ``__setstate__`` converts them (same names, same kinds), then predict alike."""
    tree = DecisionTreeClassifier(random_state=0).fit(X, Y).tree_
    state = tree.__getstate__()
    formats = [">i4", ">i4", ">i4", ">f8", ">f8", ">i4", ">f8", "u1"]
    other = np.dtype(
        {
            "names": list(NODE_DTYPE.names),
            "formats": formats,
            "offsets": [0, 4, 8, 12, 20, 28, 32, 40],
            "itemsize": 41,
        }
    )
    nodes = state["nodes"].astype(other)
    args = (tree.n_features, np.asarray(tree.n_classes), tree.n_outputs)
    got = emulate(forged_bytes(Tree, args, dict(state, nodes=nodes)))
    np.testing.assert_array_equal(got.predict(X32), tree.predict(X32))


def test_random_state_of_old_numpy() -> None:
    """numpy < 1.17 wrote ``numpy.random.__RandomState_ctor()`` and a BUILD of
    the legacy tuple state; it loads as the same stream of draws."""
    import io

    buf = io.BytesIO()
    pickler = pickle._Pickler(buf, protocol=2)  # type: ignore[attr-defined]
    pickler.write(pickle.PROTO + b"\x02")
    pickler.write(pickle.GLOBAL + b"numpy.random\n__RandomState_ctor\n")
    pickler.write(pickle.EMPTY_TUPLE + pickle.REDUCE)
    pickler.save(np.random.RandomState(9).get_state(legacy=True))
    pickler.write(pickle.BUILD + pickle.STOP)
    got = emulate(buf.getvalue())
    want = np.random.RandomState(9)
    np.testing.assert_array_equal(
        got.randint(0, 10**6, 100), want.randint(0, 10**6, 100)
    )
