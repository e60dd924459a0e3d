"""pandas and scikit-learn pickles expose real arrays; the registry stays put."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from numpy_helpers import REGISTRY, arrays_in

import emulpickle

pd = pytest.importorskip("pandas")
sklearn_linear = pytest.importorskip("sklearn.linear_model")
sklearn_pre = pytest.importorskip("sklearn.preprocessing")


def _has_equal(arrays: list[Any], want: np.ndarray[Any, Any]) -> bool:
    return any(
        a.dtype == want.dtype and a.shape == want.shape and np.array_equal(a, want)
        for a in arrays
    )


def _load_generic(obj: object, protocol: int) -> Any:
    data = pickle.dumps(obj, protocol)
    return emulpickle.loads(data, registry=REGISTRY, unknown="generic")


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_dataframe(protocol: int) -> None:
    df = pd.DataFrame(
        {
            "ints": np.arange(5, dtype="i8"),
            "floats": np.linspace(0, 1, 5),
            "more": np.arange(5, dtype="f8") * 2,
        }
    )
    got = _load_generic(df, protocol)
    assert isinstance(got, emulpickle.GenericObject)
    arrays = arrays_in(got)
    block = df[["floats", "more"]].to_numpy().T
    assert _has_equal(arrays, np.arange(5, dtype="i8").reshape(1, 5))
    assert _has_equal(arrays, block)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_sklearn_models(protocol: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    model = sklearn_linear.LogisticRegression().fit(x, y)
    scaler = sklearn_pre.StandardScaler().fit(x)
    got = _load_generic({"model": model, "scaler": scaler}, protocol)
    model_state = got["model"].state
    scaler_state = got["scaler"].state
    assert np.array_equal(model_state["coef_"], model.coef_)
    assert isinstance(model_state["coef_"], np.ndarray)
    assert np.array_equal(model_state["intercept_"], model.intercept_)
    assert np.array_equal(model_state["classes_"], model.classes_)
    for name in ("mean_", "var_", "scale_"):
        value = scaler_state[name]
        assert type(value) is np.ndarray
        assert value.tobytes() == getattr(scaler, name).tobytes()
    assert _has_equal(arrays_in(got), model.coef_)


def test_default_registry_is_unchanged() -> None:
    default = emulpickle.default_registry()
    before = default.names()
    registry = emulpickle.Registry.with_plugins("numpy")
    assert registry is not default
    assert default.names() == before
    assert ("numpy", "dtype") not in default
    assert ("numpy._core.multiarray", "_reconstruct") not in default
    assert ("numpy", "dtype") in registry
    assert default.state_setter(np.ndarray) is None
    assert emulpickle.default_registry() is default


@pytest.mark.parametrize(
    "obj", [np.arange(3), np.float64(1.0), np.dtype("i4")], ids=type
)
def test_default_registry_refuses_numpy(obj: object) -> None:
    for protocol in (2, 4, 5):
        with pytest.raises(emulpickle.ForbiddenGlobalError) as info:
            emulpickle.loads(pickle.dumps(obj, protocol))
        assert info.value.module.startswith("numpy")


def test_both_core_names_are_registered() -> None:
    for core in ("numpy.core", "numpy._core"):
        for module, name in (
            (f"{core}.multiarray", "_reconstruct"),
            (f"{core}.multiarray", "scalar"),
            (f"{core}.numeric", "_frombuffer"),
        ):
            assert (module, name) in REGISTRY


def test_numpy1_names_load() -> None:
    data = pickle.dumps(np.arange(4, dtype=">i2").reshape(2, 2), 2)
    new_name = b"numpy._core.multiarray"
    if new_name in data:
        data = data.replace(new_name, b"numpy.core.multiarray")
    got = emulpickle.loads(data, registry=REGISTRY)
    want = pickle.loads(data.replace(b"numpy.core.", b"numpy._core."))
    assert got.tolist() == [[0, 1], [2, 3]]
    assert got.dtype == want.dtype
