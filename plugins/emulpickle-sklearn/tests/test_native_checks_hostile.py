"""ESTIMATOR_CHECKS on inconsistent fitted states, in a child.

Each state is a real fitted estimator's ``__getstate__()`` with one array or
count changed so that the estimator's C code (libsvm, the k-means kernels,
``predict_stages``, the tree walks) would index outside an array. The child
calls ``ESTIMATOR_CHECKS[qualname](state)``: each must raise EmulationError
naming the class and attribute. A precomputed-kernel SVC whose ``support_``
points past the kernel's columns, pickled for real, crashes ``predict``
(sklearn's own CVE-2020-28975 check does not cover that path).
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from emulpickle_sklearn._native import ESTIMATOR_CHECKS
from native_helpers import refused_all, run_child
from sklearn import cluster, dummy, ensemble, neighbors, svm, tree
from sklearn.datasets import load_iris


def _qualname(estimator: Any) -> str:
    return f"{type(estimator).__module__}.{type(estimator).__qualname__}"


@pytest.fixture(scope="module")
def fitted() -> dict[str, Any]:
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {
            "svc": svm.SVC(probability=True, random_state=0).fit(X, y),
            "svr": svm.SVR().fit(X, y),
            "pre": svm.SVC(kernel="precomputed").fit(X @ X.T, y),
            "kmeans": cluster.KMeans(3, n_init=1, random_state=0).fit(X),
            "gb": ensemble.GradientBoostingClassifier(n_estimators=2).fit(X, y),
            "dt": tree.DecisionTreeRegressor(max_depth=2).fit(X, y),
            "rf": ensemble.RandomForestClassifier(n_estimators=2).fit(X, y),
            "hgb": ensemble.HistGradientBoostingRegressor(max_iter=2).fit(X, y),
            "knn": neighbors.KNeighborsClassifier(algorithm="kd_tree").fit(X, y),
            "brute": neighbors.KNeighborsRegressor(algorithm="brute").fit(X, y),
        }
    return models


def _cases(models: dict[str, Any]) -> dict[str, tuple[Any, dict[str, Any]]]:
    def changed(key: str, **values: Any) -> tuple[Any, dict[str, Any]]:
        model = models[key]
        return model, dict(model.__getstate__(), **values)

    svc = models["svc"].__getstate__()
    pre = models["pre"].__getstate__()
    far = pre["support_"].copy()
    far[0] = 10**9
    return {
        "svc n_support": changed(
            "svc", _n_support=np.array([7, 29, 10**6], dtype=np.int32)
        ),
        "svc dual_coef": changed("svc", _dual_coef_=svc["_dual_coef_"][:1].copy()),
        "svc intercept": changed("svc", _intercept_=svc["_intercept_"][:1].copy()),
        "svc probA": changed("svc", _probA=svc["_probA"][:2].copy()),
        "svc sparse flag": changed("svc", _sparse=True),
        "svc kernel": changed("svc", kernel="nonsense"),
        "svr n_support": changed("svr", _n_support=np.zeros(3, dtype=np.int32)),
        "precomputed support": changed("pre", support_=far),
        "kmeans width": changed(
            "kmeans",
            cluster_centers_=models["kmeans"].cluster_centers_[:, :2].copy(),
        ),
        "gb columns": changed("gb", n_trees_per_iteration_=1),
        "gb init": changed(
            "gb", init_=dummy.DummyClassifier().fit(np.zeros((4, 1)), [0, 1, 0, 1])
        ),
        "dt features": changed("dt", n_features_in_=7),
        "rf features": changed("rf", n_features_in_=2),
        "hgb features": changed("hgb", n_features_in_=1),
        "knn rows": changed("knn", n_samples_fit_=10),
        "brute width": changed(
            "brute", _fit_X=np.ascontiguousarray(models["brute"]._fit_X[:, :2])
        ),
    }


def test_inconsistent_states_are_refused(
    tmp_path: Path, fitted: dict[str, Any]
) -> None:
    """Each changed state fails its class's check with EmulationError."""
    jobs = []
    names = {}
    for i, (name, (model, state)) in enumerate(_cases(fitted).items()):
        path = tmp_path / f"state-{i}.pkl"
        path.write_bytes(pickle.dumps((_qualname(model), state)))
        jobs.append((path, "none"))
        names[name] = path
    result = refused_all(jobs, tmp_path, mode="check")
    message = {name: result[str(path)][2] for name, path in names.items()}
    assert "SVC._n_support" in message["svc n_support"]
    assert "SVC._dual_coef_" in message["svc dual_coef"]
    assert "SVC._intercept_" in message["svc intercept"]
    assert "SVC.support_" in message["precomputed support"]
    assert "KMeans.cluster_centers_" in message["kmeans width"]
    assert "GradientBoosting.estimators_" in message["gb columns"]
    assert "Neighbors._fit_X" in message["brute width"]
    assert "GradientBoosting.init_" in message["gb init"]


def test_real_states_pass(fitted: dict[str, Any]) -> None:
    """The unchanged fitted states pass every check (no false refusals)."""
    for model in fitted.values():
        ESTIMATOR_CHECKS[_qualname(model)](model.__getstate__())


def test_precomputed_support_crashes_real_pickle(
    tmp_path: Path, fitted: dict[str, Any]
) -> None:
    """The refused SVC state, pickled for real, kills the process in predict."""
    _, state = _cases(fitted)["precomputed support"]
    hostile = svm.SVC(kernel="precomputed")
    hostile.__setstate__(state)
    path = tmp_path / "svc.pkl"
    path.write_bytes(pickle.dumps(hostile))
    proc, canary = run_child("pickle", [(path, "precomputed")], tmp_path)
    assert canary.exists(), proc.stderr[-2000:]
    assert proc.returncode < 0, (proc.returncode, proc.stdout[-500:])
