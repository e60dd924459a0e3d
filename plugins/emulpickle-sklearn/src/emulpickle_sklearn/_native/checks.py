"""Estimator-level checks: fitted arrays an estimator hands to C code.

:data:`CHECKS` maps a class's qualified name to a function raising
:class:`emulpickle.EmulationError`; the per-family functions live with
their native types (``hist_gb``, ``svm``, ``cluster``, ``neighbors``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .estimators import ESTIMATOR_LEVEL_CHECKS
from .hist_gb import check_bin_mapper, check_hist_gradient_boosting
from .svm import SVM_CHECKS

__all__ = ["CHECKS"]

_HGB = "sklearn.ensemble._hist_gradient_boosting"

CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    f"{_HGB}.gradient_boosting.HistGradientBoostingClassifier": (
        check_hist_gradient_boosting
    ),
    f"{_HGB}.gradient_boosting.HistGradientBoostingRegressor": (
        check_hist_gradient_boosting
    ),
    f"{_HGB}.binning._BinMapper": check_bin_mapper,
    **SVM_CHECKS,
    **ESTIMATOR_LEVEL_CHECKS,
}
