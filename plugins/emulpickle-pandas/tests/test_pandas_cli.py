"""``emulpickle scan`` / ``show`` / ``json`` of pandas pickles with the plugin
installed (an ``emulpickle.plugins`` entry point, as pip would install it):
the globals it answers are safe, os.system in an object column is not."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pandas_helpers import Reduce, pd

SRC = Path(__file__).parents[1] / "src"
TIMEOUT = 60


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a process where emulpickle-pandas is installed."""
    root = tmp_path_factory.mktemp("site")
    info = root / "emulpickle_pandas-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: emulpickle-pandas\nVersion: 0.1.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[emulpickle.plugins]\npandas = emulpickle_pandas:register\n"
    )
    paths = [
        str(root),
        str(SRC),
        *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep)),
    ]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emulpickle", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
    )


FRAME = pd.DataFrame(
    {
        "i": [1, 2, 3],
        "cat": pd.Categorical(["a", "b", "a"]),
        "t": pd.date_range("2020", periods=3, tz="UTC"),
        "n": pd.array([1, None, 3], dtype="Int64"),
    },
    index=pd.Index(["x", "y", "z"], name="k"),
)


def test_scan_of_a_frame_is_clean(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "frame.pkl"
    FRAME.to_pickle(path)
    proc = cli(env, "scan", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "clean" in proc.stdout


def test_scan_of_os_system_in_an_object_column_is_dangerous(
    env: dict[str, str], tmp_path: Path
) -> None:
    values = np.empty(2, dtype=object)
    values[:] = ["ok", Reduce(os.system, ("true",))]
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps(pd.DataFrame({"o": values}), protocol=5))
    proc = cli(env, "scan", str(path))
    assert proc.returncode == 1
    assert "system" in proc.stdout


def test_show_and_json_of_a_frame(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "frame.pkl"
    FRAME.to_pickle(path)
    shown = cli(env, "show", str(path))
    assert shown.returncode == 0, shown.stderr
    assert "pandas.DataFrame" in shown.stdout
    assert "NOT CLEAN" not in shown.stderr
    written = cli(env, "json", str(path))
    assert written.returncode == 0, written.stderr
    doc = json.loads(written.stdout)
    assert doc["$type"] == "pandas.DataFrame"
    assert doc["shape"] == [3, 4]
    assert [c[1] for c in doc["columns"]] == [str(d) for d in FRAME.dtypes]
    assert doc["index"]["length"] == 3
