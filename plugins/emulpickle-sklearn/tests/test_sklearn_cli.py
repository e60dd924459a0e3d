"""``emulpickle scan`` and ``emulpickle show`` on scikit-learn files, run as
a user runs them (``python -m emulpickle`` in a child process), with the
plugin's entry point installed (a dist-info on the child's path when the
plugin is not pip-installed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sklearn_kinds as sk

from emulpickle.registry import installed_plugins

TIMEOUT = 120  # a hang guard (the child imports scikit-learn)


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    paths = [p for p in sys.path if p]
    if "sklearn" not in installed_plugins():
        site = tmp_path / "site"
        info = site / "emulpickle_sklearn-0.1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: emulpickle-sklearn\nVersion: 0.1.0\n"
        )
        (info / "entry_points.txt").write_text(
            "[emulpickle.plugins]\nsklearn = emulpickle_sklearn:register\n"
        )
        paths.insert(0, str(site))
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emulpickle", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(tmp_path),
    )


def _kind(name: str) -> sk.Kind:
    kind = next(k for k in sk.KINDS if k.name == name)
    missing = sk.native_missing(kind)
    if missing:
        pytest.skip(f"native types not answered yet: {missing}")
    return kind


def test_scan_is_clean_on_models_and_names_an_untrusted_function(
    saved: Any, tmp_path: Path
) -> None:
    import json
    import pickle

    import numpy as np
    from sklearn.preprocessing import FunctionTransformer

    models = [
        str(saved.get(_kind(name))[2]["pickle"])
        for name in (
            "Pipeline+ColumnTransformer(DataFrame)",
            "GridSearchCV",
            "RandomForestClassifier",
        )
    ]
    function = tmp_path / "ft.pkl"
    function.write_bytes(pickle.dumps(FunctionTransformer(np.log1p)))
    proc = _run(tmp_path, "scan", "--json", *models, str(function))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    files = {entry["file"]: entry for entry in json.loads(proc.stdout)["files"]}
    for model in models:
        assert files[model]["clean"], files[model]
    assert not files[str(function)]["clean"]
    assert {
        (found["module"], found["name"], found["verdict"])
        for found in files[str(function)]["findings"]
    } >= {("numpy", "log1p", "unknown")}


def test_show_opens_a_model(saved: Any, tmp_path: Path) -> None:
    paths = saved.get(_kind("RandomForestClassifier"))[2]
    files = [str(paths[fmt]) for fmt in ("joblib-0", "joblib-3", "pickle")]
    proc = _run(tmp_path, "show", *files)
    assert proc.returncode == 0, proc.stderr[-2000:]
    shown = "<sklearn.ensemble._forest.RandomForestClassifier object>"
    assert proc.stdout.count(shown) == len(files)
