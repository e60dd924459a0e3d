"""Print the markdown table: estimator kind x {pickle, joblib-0, joblib-3}
-> whether emulpickle_sklearn.load gives equal predictions (or the error).

Not a test: run it (``python plugins/emulpickle-sklearn/tests/estimator_table.py``)
with the plugin on the path. The kinds are sklearn_kinds.KINDS.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import emulpickle_sklearn
import sklearn_kinds as sk

FORMATS = ("pickle", "joblib-0", "joblib-3")


def cell(path: Path, expected: dict[str, object], X: object) -> str:
    """``equal`` or the error (its type and the start of its message)."""
    try:
        loaded = emulpickle_sklearn.load(path)
        sk.assert_same_outputs(expected, loaded, X)  # type: ignore[arg-type]
    except Exception as exc:  # the table shows any failure
        text = str(exc).splitlines()[0][:90].replace("|", "\\|")
        return f"{type(exc).__name__}: {text}"
    return "equal (" + ", ".join(sorted(expected)) + ")"


def main() -> None:
    """Fit, save and load every kind; print the table."""
    data = sk.datasets()
    print("| kind | " + " | ".join(FORMATS) + " |")
    print("|---|" + "---|" * len(FORMATS))
    with tempfile.TemporaryDirectory() as tmp:
        for kind in sk.KINDS:
            model = sk.fit(kind, data)
            X = data[kind.data][2]
            expected = sk.outputs(model, X)
            paths = sk.save(model, Path(tmp), kind.name)
            cells = [cell(paths[f], expected, X) for f in FORMATS]
            print(f"| {kind.name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
