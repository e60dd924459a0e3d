"""Callables a model holds: refused unless the application trusts them by
name, then answered with the object the application's own import gives.

FunctionTransformer(func=...), a custom scorer in a GridSearchCV, a function
of this very module; and a file naming ``os.system`` in an estimator's
state, loaded in a child process with a canary: refused, and nothing runs —
even when the application lists it in ``trusted`` (a trusted callable is a
value; the load never calls it).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import emulpickle_sklearn
import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import make_scorer
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import FunctionTransformer

import emulpickle

TIMEOUT = 60  # a hang guard
X = np.abs(np.random.RandomState(0).rand(40, 3))
y = (X[:, 0] > 0.5).astype(int)


def log_plus_two(values: Any) -> Any:
    """A custom feature function, trusted by name in the tests below."""
    return np.log1p(values) + 2


def agreement(y_true: Any, y_pred: Any) -> float:
    """A custom metric."""
    return float(np.mean(y_true == y_pred))


def _name(func: Any) -> str:
    return f"{func.__module__}.{func.__qualname__}"


@pytest.mark.parametrize("compress", [None, 0, 3])
def test_function_transformer_needs_its_function_trusted(
    tmp_path: Path, compress: int | None
) -> None:
    model = FunctionTransformer(np.log1p).fit(X)
    path = tmp_path / "ft.bin"
    if compress is None:
        path.write_bytes(pickle.dumps(model))
    else:
        joblib.dump(model, path, compress=compress)
    with pytest.raises(emulpickle.ForbiddenGlobalError) as info:
        emulpickle_sklearn.load(path)
    assert "trusted=['numpy.log1p']" in str(info.value)
    loaded = emulpickle_sklearn.load(path, trusted=["numpy.log1p"])
    assert loaded.func is np.log1p
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


def test_a_generic_stand_in_for_the_function_is_refused_by_path(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ft.pkl"
    path.write_bytes(pickle.dumps(FunctionTransformer(np.log1p).fit(X)))
    with pytest.raises(emulpickle.EmulationError) as info:
        emulpickle_sklearn.load(path, unknown="generic")
    text = str(info.value)
    assert "FunctionTransformer.func" in text
    assert "trusted=['numpy.log1p']" in text


def test_a_custom_function_is_trusted_by_its_name(tmp_path: Path) -> None:
    model = FunctionTransformer(log_plus_two).fit(X)
    path = tmp_path / "custom.joblib"
    joblib.dump(model, path, compress=3)
    with pytest.raises(emulpickle.ForbiddenGlobalError, match="log_plus_two"):
        emulpickle_sklearn.load(path)
    # Trusting another function does not let this one in.
    with pytest.raises(emulpickle.ForbiddenGlobalError, match="log_plus_two"):
        emulpickle_sklearn.load(path, trusted=["numpy.log1p"])
    loaded = emulpickle_sklearn.load(path, trusted=[_name(log_plus_two)])
    assert loaded.func is log_plus_two
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


def test_a_custom_scorer_needs_its_metric_trusted(tmp_path: Path) -> None:
    search = GridSearchCV(
        LogisticRegression(), {"C": [0.5, 1.0]}, cv=2, scoring=make_scorer(agreement)
    ).fit(X, y)
    path = tmp_path / "search.pkl"
    path.write_bytes(pickle.dumps(search))
    with pytest.raises(emulpickle.ForbiddenGlobalError, match="agreement"):
        emulpickle_sklearn.load(path)
    loaded = emulpickle_sklearn.load(path, trusted=[_name(agreement)])
    np.testing.assert_array_equal(loaded.predict(X), search.predict(X))
    assert loaded.score(X, y) == search.score(X, y)


def test_named_scorers_metrics_are_scikit_learns_own(tmp_path: Path) -> None:
    search = GridSearchCV(
        LogisticRegression(), {"C": [0.5, 1.0]}, cv=2, scoring="balanced_accuracy"
    ).fit(X, y)
    path = tmp_path / "search.pkl"
    path.write_bytes(pickle.dumps(search))
    loaded = emulpickle_sklearn.load(path)
    assert loaded.score(X, y) == search.score(X, y)


def test_trusted_must_be_a_list_of_names_that_resolve() -> None:
    with pytest.raises(TypeError):
        emulpickle_sklearn.load(b"", trusted="numpy.log1p")
    with pytest.raises(ValueError, match="does not resolve"):
        emulpickle_sklearn.load(b"", trusted=["numpy.no_such_function"])


CHILD = r"""
import json, sys
import emulpickle, emulpickle_sklearn
out = {}
for label, trusted in (("default", []), ("trusted", ["os.system"])):
    try:
        emulpickle_sklearn.load(sys.argv[1], trusted=trusted)
        out[label] = "loaded"
    except emulpickle.UnpicklingError as exc:
        out[label] = [type(exc).__name__, str(exc)]
print(json.dumps(out))
"""


class _System:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> Any:
        import os

        return (os.system, (self.command,))


@pytest.mark.parametrize("compress", [None, 3])
def test_os_system_in_an_estimators_state_never_runs(
    tmp_path: Path, compress: int | None
) -> None:
    canary = tmp_path / "canary"
    model = LogisticRegression().fit(X, y)
    model.class_weight = _System(f"touch {canary}")
    path = tmp_path / "evil.bin"
    if compress is None:
        path.write_bytes(pickle.dumps(model))
    else:
        joblib.dump(model, path, compress=compress)
    assert b"system" in path.read_bytes() or compress
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not canary.exists()
    out = json.loads(proc.stdout)
    kind, text = out["default"]
    assert kind == "ForbiddenGlobalError"
    assert "os.system" in text or "posix.system" in text
    # Trusted, os.system is a value the model may hold: the file calling it
    # is still refused, before anything runs.
    kind, text = out["trusted"]
    assert kind == "EmulationError"
    assert "answered as a value only" in text
