"""Compare loading pandas frames and scikit-learn forests with the real loaders.

Files are written by the real tools into a temporary directory (by a child
process):

* ``frame``: a ``--rows`` row (default 1,000,000) mixed DataFrame (int64,
  float64, str objects, category, datetime64 with a time zone, nullable
  Int64, bool) saved with ``df.to_pickle``;
* ``forest``: a ``--trees`` tree (default 500) ``RandomForestClassifier``
  fitted on 2,000 rows x 20 features, saved with ``joblib.dump`` (compress
  0 and 3) and with ``pickle.dump``.

Each file is loaded by each loader in a fresh child process that imports
numpy, pandas, sklearn, joblib and emulpickle (and the plugin, when
installed) first, then times ``--repeat`` loads (best of them) and reports
the growth of the process's peak RSS (VmHWM, after the first load minus
before it) while that load's result is alive. Loaders:

* frame: ``pandas.read_pickle`` (the reference), ``emulpickle_pandas.read_pickle``
  (real frames; "not installed" without the plugin), and
  ``emulpickle.open_file(unknown="generic")`` (stand-ins, for reference);
* forest: ``joblib.load`` (the reference), ``emulpickle_sklearn.load`` (real
  estimators; "not installed" without the plugin), and
  ``emulpickle.open_file(unknown="generic")``.

The ratio column is each loader's best time over the reference's (#16's
goal: within 1.5x). ``EMULPICKLE_PURE=1`` in the environment measures the
pure-Python machine. Run it as::

    python benchmarks/bench_pandas_sklearn.py [--rows N] [--trees N] [--repeat 3]
    python benchmarks/bench_pandas_sklearn.py --quick   # 50,000 rows, 20 trees
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from timed_load import TIMED_LOAD

#: loader -> (module it needs, expression loading ``path``)
FRAME_LOADERS = {
    "pandas": ("pandas", "pandas.read_pickle(path)"),
    "emulpickle_pandas": ("emulpickle_pandas", "emulpickle_pandas.read_pickle(path)"),
    "open_file": ("emulpickle", "emulpickle.open_file(path, unknown='generic').value"),
}
FOREST_LOADERS = {
    "joblib": ("joblib", "joblib.load(path)"),
    "emulpickle_sklearn": ("emulpickle_sklearn", "emulpickle_sklearn.load(path)"),
    "open_file": ("emulpickle", "emulpickle.open_file(path, unknown='generic').value"),
}

CHILD = (
    """
import gc, importlib, json, sys, time, warnings
import numpy, pandas, sklearn, joblib, emulpickle
warnings.simplefilter("ignore")
try:
    {module} = importlib.import_module({module!r})
except ImportError:
    print(json.dumps({{"error": "not installed"}}))
    sys.exit()

"""
    + TIMED_LOAD
)

WRITER = """
import pickle, sys
import joblib, numpy as np, pandas as pd

kind, folder, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(0)
if kind == "frame":
    n = size
    frame = pd.DataFrame({
        "int": rng.integers(0, 1 << 40, n),
        "float": rng.random(n),
        "str": pd.Series([f"s{i % 1000}" for i in range(n)], dtype=object),
        "category": pd.Categorical(rng.choice(["a", "b", "c", "d"], n)),
        "when": pd.date_range("2020-01-01", periods=n, freq="s", tz="Europe/Paris"),
        "nullable": pd.array(
            np.where(rng.random(n) < 0.1, None, rng.integers(0, 100, n)),
            dtype="Int64",
        ),
        "flag": rng.random(n) < 0.5,
    })
    frame.to_pickle(f"{folder}/frame.pkl")
else:
    from sklearn.ensemble import RandomForestClassifier
    X = rng.random((2000, 20))
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    model = RandomForestClassifier(n_estimators=size, random_state=0).fit(X, y)
    joblib.dump(model, f"{folder}/forest-c0.joblib", compress=0)
    joblib.dump(model, f"{folder}/forest-c3.joblib", compress=3)
    with open(f"{folder}/forest.pkl", "wb") as f:
        pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
"""


def write(kind: str, folder: str, size: int) -> None:
    """Write the ``kind`` files (``frame`` or ``forest``) into ``folder``."""
    subprocess.run([sys.executable, "-c", WRITER, kind, folder, str(size)], check=True)


def measure(module: str, expr: str, path: Path, repeat: int) -> dict[str, Any]:
    """Best time and peak-RSS growth of ``expr`` in a fresh child."""
    code = CHILD.format(module=module, expr=expr)
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path), str(repeat)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit status {proc.returncode}"}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def table(
    path: Path, loaders: dict[str, tuple[str, str]], reference: str, repeat: int
) -> None:
    """One file's rows: each loader, its time, RSS growth and ratio."""
    print(f"\n{path.name}: {path.stat().st_size / 2**20:.1f} MiB")
    header = ("loader", "best s", "RSS growth MiB", f"time / {reference}")
    print("{:20} {:>9} {:>15} {:>18}".format(*header))
    results = {
        name: measure(module, expr, path, repeat)
        for name, (module, expr) in loaders.items()
    }
    base = results[reference].get("best")
    for name, row in results.items():
        if "error" in row:
            print(f"{name:20} {row['error']}")
            continue
        ratio = f"{row['best'] / base:17.2f}x" if base else ""
        print(f"{name:20} {row['best']:9.4f} {row['growth']:15.1f} {ratio:>18}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--trees", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="50,000 rows, 20 trees, 2 runs"
    )
    args = parser.parse_args()
    if args.quick:
        args.rows, args.trees, args.repeat = 50_000, 20, 2
    import emulpickle

    machine = "compiled" if emulpickle.__compiled__ else "pure Python"
    print(f"emulpickle's machine: {machine}")
    with tempfile.TemporaryDirectory() as folder:
        write("frame", folder, args.rows)
        print(f"frame: {args.rows} rows (to_pickle)", end="")
        table(Path(folder) / "frame.pkl", FRAME_LOADERS, "pandas", args.repeat)
        write("forest", folder, args.trees)
        print(f"\nforest: {args.trees} trees")
        for name in ("forest-c0.joblib", "forest-c3.joblib", "forest.pkl"):
            table(Path(folder) / name, FOREST_LOADERS, "joblib", args.repeat)


if __name__ == "__main__":
    main()
