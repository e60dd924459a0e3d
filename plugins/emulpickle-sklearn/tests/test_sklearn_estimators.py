"""Fitted estimators saved by pickle and joblib load as working estimators.

Each kind of sklearn_kinds.KINDS (linear models, SVMs, trees and forests,
gradient boosting, clustering, decompositions, neighbours, MLP, naive
Bayes, ensembles, searches, a Pipeline + ColumnTransformer fitted on a
DataFrame...) is fitted on small data, written with ``pickle.dump`` and
``joblib.dump`` (compress 0 and 3), loaded with
``emulpickle_sklearn.load``, and must give exactly the original's
``predict`` / ``predict_proba`` / ``decision_function`` / ``transform`` /
``score_samples`` on held-out data. Every kind must load: a native type
the ``_native`` package does not answer fails its row.
"""

from __future__ import annotations

import pickle
import warnings
from typing import Any

import emulpickle_sklearn
import numpy as np
import pytest
import sklearn_kinds as sk

import emulpickle

FORMATS = ("pickle", "joblib-0", "joblib-3")


def test_the_matrix_has_at_least_40_kinds() -> None:
    assert len({kind.name for kind in sk.KINDS}) >= 40


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", sk.KINDS, ids=lambda kind: kind.name)
def test_loaded_estimator_predicts_as_the_original(
    saved: Any, kind: sk.Kind, fmt: str
) -> None:
    assert not sk.native_missing(kind), "native types not answered"
    model, expected, paths = saved.get(kind)
    loaded = emulpickle_sklearn.load(paths[fmt])
    assert type(loaded) is type(model)
    assert loaded is not model
    sk.assert_same_outputs(expected, loaded, saved.data[kind.data][2])


def test_nested_estimators_are_real_and_shared_as_saved(saved: Any) -> None:
    # StackingClassifier holds each fitted estimator twice (estimators_ and
    # the named_estimators_ Bunch): the memo must give one object.
    kind = next(k for k in sk.KINDS if k.name == "StackingClassifier")
    _, _, paths = saved.get(kind)
    loaded = emulpickle_sklearn.load(paths["joblib-3"])
    assert loaded.named_estimators_["lr"] is loaded.estimators_[0]
    assert type(loaded.named_estimators_).__name__ == "Bunch"


def test_pipeline_on_a_frame_keeps_its_column_names(saved: Any) -> None:
    kind = next(k for k in sk.KINDS if k.data == "frame")
    model, _, paths = saved.get(kind)
    loaded = emulpickle_sklearn.load(paths["pickle"])
    np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    assert loaded.named_steps["columns"].named_transformers_["cat"].categories_[
        0
    ].tolist() == ["blue", "green", "red"]


def test_grid_search_results_keep_their_masked_columns(saved: Any) -> None:
    kind = next(k for k in sk.KINDS if k.name == "GridSearchCV")
    model, _, paths = saved.get(kind)
    loaded = emulpickle_sklearn.load(paths["joblib-0"])
    column = loaded.cv_results_["param_C"]
    assert isinstance(column, np.ma.MaskedArray)
    np.testing.assert_array_equal(column.mask, model.cv_results_["param_C"].mask)
    assert column.tolist() == model.cv_results_["param_C"].tolist()
    assert loaded.best_params_ == model.best_params_


LISTED = r"""
import sys
from emulpickle_sklearn._estimators import SklearnClass
from emulpickle_sklearn._load import sklearn_registry
registry, _ = sklearn_registry()
assert "dask" not in sys.modules and "tblib" not in sys.modules, "side effects"
from sklearn.utils import all_estimators
bad = []
for _, cls in all_estimators():
    found = registry.resolve(cls.__module__, cls.__qualname__)
    value = None if found is None else found.value
    if not isinstance(value, SklearnClass) or value.cls is not cls:
        bad.append(f"{cls.__module__}.{cls.__qualname__}")
print(len(all_estimators()), bad)
"""


def test_every_listed_estimator_class_is_answered_by_its_own_class() -> None:
    # In a child: all_estimators() imports all of scikit-learn, dask (and its
    # process-wide exception pickling) included; the plugin does not call it,
    # and building its registry imports neither dask nor tblib.
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", LISTED], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    count, bad = proc.stdout.split(" ", 1)
    assert int(count) > 200
    assert bad.strip() == "[]"


def test_mmap_true_views_joblib_arrays_read_only(saved: Any) -> None:
    kind = next(k for k in sk.KINDS if k.name == "LogisticRegression")
    _, expected, paths = saved.get(kind)
    loaded = emulpickle_sklearn.load(paths["joblib-0"], mmap=True)
    assert not loaded.coef_.flags.writeable
    copied = emulpickle_sklearn.load(paths["joblib-0"])
    assert copied.coef_.flags.writeable
    sk.assert_same_outputs(expected, loaded, saved.data["clf"][2])


def test_the_registry_makes_estimators_only_through_newobj(tmp_path: Any) -> None:
    # REDUCE on the class (its __init__ with the file's arguments) is refused.
    from sklearn.linear_model import LogisticRegression

    class Calls:
        def __reduce__(self) -> Any:
            return (LogisticRegression, (5.0,))

    path = tmp_path / "call.pkl"
    path.write_bytes(pickle.dumps(Calls()))
    with pytest.raises(emulpickle.EmulationError, match="only rebuilt from"):
        emulpickle_sklearn.load(path)


def test_a_bunch_holding_an_unknown_object_is_refused(tmp_path: Any) -> None:
    # A Bunch gets its items by SETITEMS and may have no BUILD: the check of
    # the whole result still sees what it holds.
    from sklearn.utils import Bunch

    bunch = Bunch(good=np.arange(3))
    path = tmp_path / "bunch.pkl"
    path.write_bytes(pickle.dumps(bunch))
    assert emulpickle_sklearn.load(path)["good"].tolist() == [0, 1, 2]
    bunch["bad"] = warnings.WarningMessage("m", UserWarning, "f", 1)
    path.write_bytes(pickle.dumps(bunch))
    with pytest.raises(emulpickle.EmulationError, match=r"Bunch\.bad holds"):
        emulpickle_sklearn.load(path, unknown="generic")


def test_a_list_filled_after_the_estimators_build_is_checked(tmp_path: Any) -> None:
    # The state's list is memoized, the BUILD passes, then the pickle takes
    # the list back from the memo and appends a stand-in to it: the check of
    # the whole result refuses it, naming where it is.
    data = (
        b"\x80\x02csklearn.linear_model._logistic\nLogisticRegression\n)\x81"
        b"}X\x06\x00\x00\x00extra_]q\x01sb"
        b"h\x01cmypkg.evil\nThing\n)\x81a0."
    )
    path = tmp_path / "late.pkl"
    path.write_bytes(data)
    with pytest.raises(emulpickle.EmulationError, match=r"model\.extra_\[0\] holds"):
        emulpickle_sklearn.load(path, unknown="generic")
    clean = data.replace(b"h\x01cmypkg.evil\nThing\n)\x81a0", b"")
    path.write_bytes(clean)
    assert emulpickle_sklearn.load(path).extra_ == []


def test_a_frame_an_estimator_holds_loads_through_emulpickle_pandas(
    tmp_path: Any,
) -> None:
    pytest.importorskip("emulpickle_pandas")
    import joblib
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    model = LogisticRegression().fit(X, (X.a > 9).astype(int))
    model.train_frame_ = X.head(3)
    path = tmp_path / "frame.joblib"
    joblib.dump(model, path, compress=3)
    loaded = emulpickle_sklearn.load(path)
    pd.testing.assert_frame_equal(loaded.train_frame_, model.train_frame_)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
