"""libsvm estimators (SVC, NuSVC, SVR, NuSVR, OneClassSVM): the fitted arrays
``predict`` hands to libsvm.

``BaseLibSVM._dense_predict`` passes ``support_``, ``support_vectors_``,
``_n_support``, ``_dual_coef_``, ``_intercept_``, ``_probA``/``_probB`` to
``libsvm.predict``, whose ``set_model`` trusts their sizes: it takes
``nr_class = len(_n_support)``, copies ``nr_class`` class sizes, reads
``nr_class*(nr_class-1)/2`` intercepts (and as many ``probA``/``probB``),
points ``sv_coef`` rows ``l = len(support_)`` apart in ``_dual_coef_``, and
libsvm's ``predict`` walks ``sum(_n_support)`` support vectors. A
precomputed kernel reads ``X[:, support_[i]]``. Memoryviews check dtypes and
contiguity; the sizes and indices are checked here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]

from ._common import MAX_DIM, check_array, check_int, fail, shown

__all__ = ["SVM_CHECKS"]

_KERNELS = ("linear", "poly", "rbf", "sigmoid", "precomputed")


def _check_libsvm(name: str, classification: bool, state: dict[str, Any]) -> None:
    if "support_" not in state:
        return  # not fitted
    shape_fit = state.get("shape_fit_")
    if type(shape_fit) is not tuple or len(shape_fit) != 2:
        raise fail(f"{name}.shape_fit_ must be a pair of ints, not {shown(shape_fit)}")
    n_samples = check_int(shape_fit[0], f"{name}.shape_fit_[0]", 1, MAX_DIM)
    n_features = check_int(shape_fit[1], f"{name}.shape_fit_[1]", 0, MAX_DIM)
    kernel = state.get("kernel")
    if isinstance(kernel, str) and kernel not in _KERNELS:
        raise fail(f"{name}.kernel {shown(kernel)} is not a libsvm kernel")
    precomputed = kernel == "precomputed" or callable(kernel)
    support = check_array(state["support_"], f"{name}.support_", np.int32, 1)
    n_sv = support.shape[0]
    n_support = check_array(state.get("_n_support"), f"{name}._n_support", np.int32, 1)
    nr_class = n_support.shape[0]
    if classification:
        if nr_class < 2 or int(n_support.min()) < 0 or int(n_support.sum()) != n_sv:
            raise fail(
                f"{name}._n_support {shown(n_support.tolist())} does not add up "
                f"to the {n_sv} support vectors"
            )
    elif nr_class != 2:
        raise fail(f"{name}._n_support must have 2 entries, not {nr_class}")
    pairs = nr_class * (nr_class - 1) // 2
    if (
        precomputed
        and n_sv
        and (int(support.min()) < 0 or int(support.max()) >= n_samples)
    ):
        raise fail(f"{name}.support_ has an index outside [0, {n_samples})")
    vectors = state.get("support_vectors_")
    sparse = state.get("_sparse")
    if type(sparse) is not bool or sparse != sp.issparse(vectors):
        raise fail(f"{name}._sparse does not match support_vectors_")
    dual = state.get("_dual_coef_")
    if sparse:
        if not isinstance(vectors, sp.csr_matrix) or not isinstance(
            dual, sp.csr_matrix
        ):
            raise fail(
                f"{name}: sparse support_vectors_/_dual_coef_ must be csr matrices"
            )
        if vectors.shape != (n_sv, n_features):
            raise fail(f"{name}.support_vectors_ has shape {shown(vectors.shape)}")
        if (
            dual.shape != (nr_class - 1, n_sv)
            or dual.data.shape[0] != (nr_class - 1) * n_sv
        ):
            raise fail(
                f"{name}._dual_coef_ does not hold {nr_class - 1} x {n_sv} values"
            )
    else:
        expected = (0, 0) if precomputed else (n_sv, n_features)
        check_array(
            vectors,
            f"{name}.support_vectors_",
            np.float64,
            shape=expected,
            contiguous=True,
        )
        check_array(
            dual,
            f"{name}._dual_coef_",
            np.float64,
            shape=(nr_class - 1, n_sv),
            contiguous=True,
        )
    check_array(
        state.get("_intercept_"), f"{name}._intercept_", np.float64, shape=(pairs,)
    )
    for prob in ("_probA", "_probB"):
        arr = check_array(state.get(prob), f"{name}.{prob}", np.float64, 1)
        if arr.shape[0] not in (0, pairs):
            raise fail(
                f"{name}.{prob} has {arr.shape[0]} values, expected 0 or {pairs}"
            )
    if "class_weight_" in state:
        check_array(state["class_weight_"], f"{name}.class_weight_", np.float64, 1)
    if "n_features_in_" in state and not precomputed:
        check_int(
            state["n_features_in_"], f"{name}.n_features_in_", n_features, n_features
        )
    check_int(state.get("degree", 3), f"{name}.degree", 0, MAX_DIM)


def _checker(name: str, classification: bool) -> Any:
    def check(state: dict[str, Any]) -> None:
        _check_libsvm(name, classification, state)

    check.__doc__ = f"libsvm arrays of a fitted {name}."
    return check


SVM_CHECKS: dict[str, Any] = {
    f"sklearn.svm._classes.{name}": _checker(name, classification)
    for name, classification in (
        ("SVC", True),
        ("NuSVC", True),
        ("SVR", False),
        ("NuSVR", False),
        ("OneClassSVM", False),
    )
}
