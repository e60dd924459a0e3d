"""The estimator kinds the sklearn plugin's tests fit, save and load
(shared by test_sklearn_estimators.py and estimator_table.py).

Each kind: a name, a factory of the unfitted estimator, the data it is
fitted on, and the native (Cython) globals its pickle names, which
``emulpickle_sklearn._native`` must answer (until it does, the kind is
skipped, not failed). Pure-Python kinds come first.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Methods compared between the original and the loaded estimator.
METHODS = (
    "predict",
    "predict_proba",
    "decision_function",
    "transform",
    "score_samples",
)

TREE = ("sklearn.tree._tree", "Tree")
RANDOM_STATE = ("numpy.random._pickle", "__randomstate_ctor")
GENERATOR = ("numpy.random._pickle", "__generator_ctor")
KD_TREE = ("sklearn.neighbors._kd_tree", "newObj")
LOSS = ("sklearn._loss._loss", "__pyx_unpickle_CyHalfMultinomialLoss")
SGD_LOSS = ("sklearn.linear_model._sgd_fast", "Hinge")
PREDICTOR = ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor")


@dataclass
class Kind:
    """One estimator kind of the matrix."""

    name: str
    make: Callable[[], Any]
    data: str = "clf"  # clf | reg | pos | frame | 1d | multi
    native: tuple[tuple[str, str], ...] = field(default=())


def _kinds() -> list[Kind]:
    from sklearn import (
        calibration,
        cluster,
        compose,
        cross_decomposition,
        decomposition,
        discriminant_analysis,
        dummy,
        ensemble,
        gaussian_process,
        impute,
        isotonic,
        kernel_ridge,
        linear_model,
        mixture,
        model_selection,
        multiclass,
        naive_bayes,
        neighbors,
        neural_network,
        pipeline,
        preprocessing,
        svm,
        tree,
    )

    def column_pipeline() -> Any:
        numeric = pipeline.make_pipeline(
            impute.SimpleImputer(strategy="median"), preprocessing.StandardScaler()
        )
        columns = compose.ColumnTransformer(
            [
                ("num", numeric, ["a", "b", "c"]),
                (
                    "cat",
                    preprocessing.OneHotEncoder(handle_unknown="ignore"),
                    ["colour"],
                ),
            ],
            remainder="drop",
        )
        return pipeline.Pipeline(
            [("columns", columns), ("model", linear_model.LogisticRegression())]
        )

    lr = linear_model.LogisticRegression
    return [
        Kind("LogisticRegression", lambda: lr()),
        Kind("RidgeClassifier", linear_model.RidgeClassifier),
        Kind("LinearRegression", linear_model.LinearRegression, "reg"),
        Kind("Ridge", linear_model.Ridge, "reg"),
        Kind("Lasso", lambda: linear_model.Lasso(alpha=0.1), "reg"),
        Kind("ElasticNet", lambda: linear_model.ElasticNet(alpha=0.1), "reg"),
        Kind("BayesianRidge", linear_model.BayesianRidge, "reg"),
        Kind("HuberRegressor", linear_model.HuberRegressor, "reg"),
        Kind("SVC", lambda: svm.SVC(probability=True, random_state=0)),
        Kind("NuSVC", lambda: svm.NuSVC()),
        Kind("SVR", svm.SVR, "reg"),
        Kind("LinearSVC", svm.LinearSVC),
        Kind("KMeans", lambda: cluster.KMeans(3, n_init=1, random_state=0)),
        Kind(
            "MiniBatchKMeans",
            lambda: cluster.MiniBatchKMeans(3, n_init=1, random_state=0),
        ),
        Kind("Birch", lambda: cluster.Birch(n_clusters=3)),
        Kind("PCA", lambda: decomposition.PCA(3)),
        Kind("TruncatedSVD", lambda: decomposition.TruncatedSVD(3, random_state=0)),
        Kind("NMF", lambda: decomposition.NMF(2, max_iter=200, random_state=0), "pos"),
        Kind("FastICA", lambda: decomposition.FastICA(3, random_state=0)),
        Kind(
            "KNeighborsRegressor(brute)",
            lambda: neighbors.KNeighborsRegressor(algorithm="brute"),
            "reg",
        ),
        Kind("NearestCentroid", neighbors.NearestCentroid),
        Kind("GaussianNB", naive_bayes.GaussianNB),
        Kind("MultinomialNB", naive_bayes.MultinomialNB, "pos"),
        Kind("BernoulliNB", naive_bayes.BernoulliNB),
        Kind(
            "LinearDiscriminantAnalysis",
            discriminant_analysis.LinearDiscriminantAnalysis,
        ),
        Kind(
            "QuadraticDiscriminantAnalysis",
            lambda: discriminant_analysis.QuadraticDiscriminantAnalysis(reg_param=0.1),
        ),
        Kind("KernelRidge", lambda: kernel_ridge.KernelRidge(kernel="rbf"), "reg"),
        Kind("PLSRegression", lambda: cross_decomposition.PLSRegression(2), "reg"),
        Kind("IsotonicRegression", isotonic.IsotonicRegression, "1d"),
        Kind(
            "GaussianMixture",
            lambda: mixture.GaussianMixture(2, random_state=0),
        ),
        Kind("StandardScaler", preprocessing.StandardScaler),
        Kind("MinMaxScaler", preprocessing.MinMaxScaler),
        Kind("PolynomialFeatures", preprocessing.PolynomialFeatures),
        Kind(
            "KBinsDiscretizer",
            lambda: preprocessing.KBinsDiscretizer(
                3, encode="ordinal", quantile_method="averaged_inverted_cdf"
            ),
        ),
        Kind("OneVsRestClassifier", lambda: multiclass.OneVsRestClassifier(lr())),
        Kind(
            "CalibratedClassifierCV",
            lambda: calibration.CalibratedClassifierCV(svm.LinearSVC(), cv=2),
        ),
        Kind(
            "VotingClassifier",
            lambda: ensemble.VotingClassifier(
                [("lr", lr()), ("nb", naive_bayes.GaussianNB())], voting="soft"
            ),
        ),
        Kind(
            "StackingClassifier",
            lambda: ensemble.StackingClassifier(
                [("lr", lr()), ("nb", naive_bayes.GaussianNB())], cv=2
            ),
        ),
        Kind(
            "GridSearchCV",
            lambda: model_selection.GridSearchCV(lr(), {"C": [0.1, 1.0]}, cv=2),
        ),
        Kind("DummyClassifier", dummy.DummyClassifier),
        Kind("Pipeline+ColumnTransformer(DataFrame)", column_pipeline, "frame"),
        # Kinds holding native (Cython / numpy.random) state.
        Kind("DecisionTreeClassifier", tree.DecisionTreeClassifier, native=(TREE,)),
        Kind("DecisionTreeRegressor", tree.DecisionTreeRegressor, "reg", (TREE,)),
        Kind(
            "RandomForestClassifier",
            lambda: ensemble.RandomForestClassifier(5, random_state=0),
            native=(TREE,),
        ),
        Kind(
            "ExtraTreesRegressor",
            lambda: ensemble.ExtraTreesRegressor(5, random_state=0),
            "reg",
            (TREE,),
        ),
        Kind(
            "AdaBoostClassifier",
            lambda: ensemble.AdaBoostClassifier(n_estimators=5, random_state=0),
            native=(TREE,),
        ),
        Kind(
            "GradientBoostingClassifier",
            lambda: ensemble.GradientBoostingClassifier(n_estimators=5, random_state=0),
            native=(TREE, LOSS, RANDOM_STATE),
        ),
        Kind(
            "HistGradientBoostingClassifier",
            lambda: ensemble.HistGradientBoostingClassifier(max_iter=5, random_state=0),
            native=(PREDICTOR, LOSS, GENERATOR),
        ),
        Kind(
            "HistGradientBoostingRegressor",
            lambda: ensemble.HistGradientBoostingRegressor(max_iter=5, random_state=0),
            "reg",
            (PREDICTOR, GENERATOR, ("sklearn._loss._loss", "CyHalfSquaredError")),
        ),
        Kind(
            "IsolationForest",
            lambda: ensemble.IsolationForest(n_estimators=5, random_state=0),
            native=(TREE,),
        ),
        Kind(
            "SGDClassifier",
            lambda: linear_model.SGDClassifier(random_state=0),
            native=(SGD_LOSS,),
        ),
        Kind(
            "Perceptron",
            lambda: linear_model.Perceptron(random_state=0),
            native=(SGD_LOSS,),
        ),
        Kind("KNeighborsClassifier", neighbors.KNeighborsClassifier, native=(KD_TREE,)),
        Kind(
            "MLPClassifier",
            lambda: neural_network.MLPClassifier(
                hidden_layer_sizes=(8,), max_iter=30, random_state=0
            ),
            native=(RANDOM_STATE,),
        ),
        Kind(
            "MLPRegressor",
            lambda: neural_network.MLPRegressor(
                hidden_layer_sizes=(8,), max_iter=30, random_state=0
            ),
            "reg",
            (RANDOM_STATE,),
        ),
        Kind(
            "GaussianProcessClassifier",
            lambda: gaussian_process.GaussianProcessClassifier(random_state=0),
            native=(RANDOM_STATE,),
        ),
    ]


KINDS: list[Kind] = _kinds()


def datasets() -> dict[str, tuple[Any, Any, Any]]:
    """``data name -> (X_train, y_train, X_test)``; small, deterministic."""
    import pandas as pd
    from sklearn.datasets import make_classification, make_regression

    X, y = make_classification(160, 6, n_informative=4, n_classes=3, random_state=0)
    Xr, yr = make_regression(160, 6, noise=0.5, random_state=0)
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(X[:, :3], columns=["a", "b", "c"])
    frame.loc[rng.rand(160) < 0.1, "b"] = np.nan
    frame["colour"] = rng.choice(["red", "green", "blue"], 160)
    return {
        "clf": (X[:120], y[:120], X[120:]),
        "reg": (Xr[:120], yr[:120], Xr[120:]),
        "pos": (np.abs(X[:120]), y[:120], np.abs(X[120:])),
        "frame": (frame.iloc[:120], y[:120], frame.iloc[120:]),
        "1d": (Xr[:120, 0], yr[:120], Xr[120:, 0]),
    }


def fit(kind: Kind, data: dict[str, tuple[Any, Any, Any]]) -> Any:
    """The fitted estimator of ``kind``."""
    X, y, _ = data[kind.data]
    model = kind.make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return model


def outputs(model: Any, X: Any) -> dict[str, Any]:
    """What each of :data:`METHODS` the model has returns on ``X``."""
    found: dict[str, Any] = {}
    for method in METHODS:
        try:
            func = getattr(model, method)
        except AttributeError:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found[method] = func(X)
    return found


def save(model: Any, directory: Any, name: str) -> dict[str, Any]:
    """``model`` written with pickle and joblib (compress 0 and 3):
    ``{"pickle": path, "joblib-0": path, "joblib-3": path}``."""
    import pickle

    import joblib

    stem = "".join(c if c.isalnum() else "_" for c in name)
    paths = {
        "pickle": directory / f"{stem}.pkl",
        "joblib-0": directory / f"{stem}.joblib",
        "joblib-3": directory / f"{stem}.z.joblib",
    }
    with open(paths["pickle"], "wb") as f:
        pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
    joblib.dump(model, paths["joblib-0"], compress=0)
    joblib.dump(model, paths["joblib-3"], compress=3)
    return paths


def assert_same_outputs(expected: dict[str, Any], loaded: Any, X: Any) -> None:
    """The loaded model's outputs equal the original's, method by method."""
    got = outputs(loaded, X)
    assert sorted(got) == sorted(expected)
    assert expected, "no method compared"
    for method, want in expected.items():
        np.testing.assert_array_equal(got[method], want, err_msg=method)


def native_missing(kind: Kind) -> list[str]:
    """The native globals ``kind`` needs that the plugin does not answer yet."""
    from emulpickle_sklearn._load import sklearn_registry

    registry, _ = sklearn_registry()
    return [
        f"{module}.{name}"
        for module, name in kind.native
        if registry.resolve(module, name) is None
    ]
