"""Shared fixtures of the sklearn plugin's tests: the data, and each kind
fitted and saved once per session (pickle, joblib compress 0 and 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

try:
    import joblib  # noqa: F401
    import pandas  # noqa: F401
    import sklearn  # noqa: F401
except ImportError:  # the plugin's tests need all three
    collect_ignore_glob = ["test_sklearn_*.py"]
else:
    import sklearn_kinds as sk


class Saved:
    """Fits and saves each kind the first time a test asks for it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = sk.datasets()
        self._done: dict[str, tuple[Any, dict[str, Any], dict[str, Path]]] = {}

    def get(self, kind: Any) -> tuple[Any, dict[str, Any], dict[str, Path]]:
        """``(fitted model, its outputs on held-out data, saved paths)``."""
        if kind.name not in self._done:
            model = sk.fit(kind, self.data)
            expected = sk.outputs(model, self.data[kind.data][2])
            paths = sk.save(model, self.directory, kind.name)
            self._done[kind.name] = (model, expected, paths)
        return self._done[kind.name]


@pytest.fixture(scope="session")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Saved:
    """The session's fitted and saved estimator kinds."""
    return Saved(tmp_path_factory.mktemp("sklearn-models"))
