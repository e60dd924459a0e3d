"""Which scikit-learn classes the plugin builds, and which other globals it
answers as plain values.

Every class here is found by the plugin itself, from scikit-learn's own
list (:func:`sklearn.utils.all_estimators`) and the fixed table below of
the pure-Python helper classes fitted estimators hold; a file only chooses
among them by name. Native (Cython) types are not here: they are
:mod:`emulpickle_sklearn._native`'s.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from functools import lru_cache

import numpy as np

__all__ = [
    "NUMPY_TYPES",
    "helper_classes",
    "qualified",
    "score_functions",
    "sklearn_classes",
]

#: Helper classes (not listed by ``all_estimators``) that fitted estimators
#: hold: ``module -> names``. A name ending in ``*`` takes every class that
#: module defines whose name starts with the rest and that subclasses the
#: first class named (``"Kernel*"``: every kernel). Pure Python only.
_HELPERS: dict[str, tuple[str, ...]] = {
    "sklearn.utils._bunch": ("Bunch",),
    "sklearn.calibration": ("_CalibratedClassifier", "_SigmoidCalibration"),
    "sklearn.ensemble._hist_gradient_boosting.binning": ("_BinMapper",),
    "sklearn.gaussian_process.kernels": ("Kernel*",),
    "sklearn.gaussian_process._gpc": ("_BinaryGaussianProcessClassifierLaplace",),
    "sklearn.neural_network._stochastic_optimizers": (
        "SGDOptimizer",
        "AdamOptimizer",
    ),
    "sklearn.model_selection._split": (
        "BaseCrossValidator*",
        "BaseShuffleSplit*",
        "_RepeatedSplits*",
    ),
    "sklearn.metrics._scorer": (
        "_MultimetricScorer",
        "_Scorer",
        "_PassthroughScorer",
        "_CurveScorer",
    ),
    "sklearn.compose._column_transformer": ("make_column_selector",),
    "sklearn.multiclass": ("_ConstantPredictor",),
    "sklearn.cluster._birch": ("_CFNode", "_CFSubcluster"),
    "sklearn.utils._metadata_requests": (
        "MetadataRequest",
        "MethodMetadataRequest",
        "MetadataRouter",
        "MethodMapping",
    ),
}

#: numpy's scalar types, which estimators hold as parameters
#: (``dtype=np.float64``): answered with the real type, a value only.
NUMPY_TYPES: tuple[type, ...] = (
    np.bool_,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.float16,
    np.float32,
    np.float64,
    np.longdouble,
    np.complex64,
    np.complex128,
    np.clongdouble,
    np.intp,
    np.uintp,
    np.str_,
    np.bytes_,
    np.object_,
    np.datetime64,
    np.timedelta64,
    np.number,
    np.integer,
    np.floating,
    np.generic,
)


def qualified(obj: type | Callable[..., object]) -> str:
    """``module.qualname`` of a class or function (its pickle name)."""
    return f"{obj.__module__}.{obj.__qualname__}"


def _pure_python(cls: type) -> bool:
    """Whether ``cls`` is a class written in Python (instances have a
    ``__dict__`` that BUILD fills): Cython types are the native module's."""
    module = inspect.getmodule(cls)
    source = getattr(module, "__file__", None) or ""
    return source.endswith(".py") and "__dict__" in dir(cls)


def _module_classes(module_name: str, pattern: str) -> Iterator[type]:
    module = importlib.import_module(module_name)
    if not pattern.endswith("*"):
        cls = getattr(module, pattern)
        assert isinstance(cls, type)
        yield cls
        return
    base = getattr(module, pattern[:-1])
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, base)
            and value.__module__ == module_name
            and not inspect.isabstract(value)
        ):
            yield value


@lru_cache(maxsize=1)
def helper_classes() -> tuple[type, ...]:
    """The non-estimator pure-Python classes fitted estimators hold."""
    found: list[type] = []
    for module_name, patterns in _HELPERS.items():
        for pattern in patterns:
            found.extend(_module_classes(module_name, pattern))
    return tuple(dict.fromkeys(found))


#: The packages whose estimators ``sklearn.utils.all_estimators()`` lists.
#: Imported by name here instead of calling it: it imports every module of
#: scikit-learn, its tests and vendored packages included (which import
#: dask, whose import changes how every exception pickles, process-wide).
_PACKAGES = (
    "calibration", "cluster", "compose", "covariance", "cross_decomposition",
    "decomposition", "discriminant_analysis", "dummy", "ensemble",
    "feature_extraction", "feature_extraction.text", "feature_selection",
    "frozen", "gaussian_process", "impute", "impute._iterative", "isotonic",
    "kernel_approximation", "kernel_ridge", "linear_model", "manifold",
    "mixture", "model_selection", "model_selection._search_successive_halving",
    "multiclass", "multioutput", "naive_bayes", "neighbors", "neural_network",
    "pipeline", "preprocessing", "random_projection", "semi_supervised", "svm",
    "tree",
)  # fmt: skip


def estimator_classes() -> list[type]:
    """The public, concrete ``BaseEstimator`` subclasses of scikit-learn's
    packages: what ``all_estimators()`` lists."""
    from sklearn.base import BaseEstimator  # type: ignore[import-untyped]

    for package in _PACKAGES:
        importlib.import_module(f"sklearn.{package}")
    found: list[type] = []
    stack: list[type] = [BaseEstimator]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        module = cls.__module__
        if (
            module.startswith("sklearn.")
            and ".tests" not in module
            and ".externals" not in module
            and not cls.__name__.startswith(("_", "Base"))
            and not inspect.isabstract(cls)
        ):
            found.append(cls)
    return found


@lru_cache(maxsize=1)
def sklearn_classes() -> dict[str, type]:
    """Every class the plugin builds, by pickle name (``module.qualname``):
    what ``all_estimators()`` lists plus :func:`helper_classes`."""
    classes: dict[str, type] = {}
    for cls in estimator_classes():
        classes[qualified(cls)] = cls
    for cls in helper_classes():
        classes[qualified(cls)] = cls
    return {name: cls for name, cls in classes.items() if _pure_python(cls)}


@lru_cache(maxsize=1)
def score_functions() -> dict[str, Callable[..., object]]:
    """The metric functions behind scikit-learn's named scorers
    (``scoring="accuracy"``): held by fitted searches as values, by name."""
    from sklearn.metrics import (  # type: ignore[import-untyped]
        get_scorer,
        get_scorer_names,
    )

    found: dict[str, Callable[..., object]] = {}
    for name in get_scorer_names():
        func = getattr(get_scorer(name), "_score_func", None)
        if inspect.isfunction(func):
            found[qualified(func)] = func
    return found
