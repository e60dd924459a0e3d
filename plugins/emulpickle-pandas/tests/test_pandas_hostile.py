"""Hostile pandas pickles: refused with a clear emulpickle error before any
pandas constructor sees the bad part, in a child process that must exit
normally, with bounded memory, and whose canary proves nothing ran.

Each pickle is crafted from pandas' own globals (the forms pandas writes)
with one part made inconsistent: a block placed outside the frame, two
blocks on one column, a column with no block, a block of the wrong length,
a Categorical code beyond its categories, a MultiIndex code beyond its
level, a RangeIndex of 10**18 elements, an object column calling os.system.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pandas_helpers import Reduce, block, categorical, frame, new_index, pd

TIMEOUT = 60  # a hang guard
MEMORY = 4 << 30  # address space of the child (pandas and numpy included)

CHILD = r"""
import json, resource, sys
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import pandas as pd
import emulpickle, emulpickle_pandas

def trap(name, canary):
    def called(*args, **kwargs):
        open(canary, "w").write(name)
        raise SystemExit(3)
    return called

OWNERS = {"DataFrame": pd.DataFrame, "Categorical": pd.Categorical,
          "MultiIndex": pd.MultiIndex, "RangeIndex": pd.RangeIndex}
results = {}
for case in json.loads(open(sys.argv[1]).read()):
    saved = []
    for name in case["traps"]:
        owner, attr = name.rsplit(".", 1)
        target = OWNERS[owner]
        saved.append((target, attr, target.__dict__[attr]))
        made = trap(name, case["canary"])
        setattr(target, attr, staticmethod(made) if attr == "from_codes" else made)
    try:
        value = emulpickle_pandas.read_pickle(case["path"], unknown=case["unknown"])
        column = []
        if isinstance(value, pd.DataFrame):
            column = [type(v).__name__ for v in value.iloc[:, 0]]
        out = ["loaded", type(value).__name__, column]
    except emulpickle.UnpicklingError as exc:
        out = [type(exc).__name__, str(exc)]
    for target, attr, original in saved:
        setattr(target, attr, original)
    results[case["name"]] = out
print(json.dumps(results))
"""

#: name -> (object to pickle, constructors trapped, unknown=)
CASES: dict[str, tuple[Any, tuple[str, ...], str]] = {}


def case(
    name: str, obj: Any, traps: tuple[str, ...] = (), unknown: str = "error"
) -> str:
    CASES[name] = (obj, traps, unknown)
    return name


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case loaded in one child process (pandas imported once)."""
    root = tmp_path_factory.mktemp("hostile")
    cases = []
    for name, (obj, traps, unknown) in CASES.items():
        path = root / f"{name}.pkl"
        canary = root / f"{name}.canary"
        obj = obj(canary) if callable(obj) else obj
        path.write_bytes(pickle.dumps(obj, protocol=4))
        cases.append(
            {
                "name": name,
                "path": str(path),
                "canary": str(canary),
                "traps": list(traps),
                "unknown": unknown,
            }
        )
    plan = root / "cases.json"
    plan.write_text(json.dumps(cases))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(plan), str(MEMORY)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for item in cases:
        assert not Path(item["canary"]).exists(), item["name"]
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


COLUMNS = pd.Index(["a", "b"])
ROWS = pd.Index(["r0", "r1", "r2"])
ONES = np.ones((1, 3))
FRAME = ("DataFrame.__init__",)


def bad_frame(name: str, blocks: list[Any], rows: Any = ROWS) -> str:
    return case(name, frame(blocks, COLUMNS, rows), FRAME)


def _system_column(canary: Path) -> Any:
    values = np.empty(3, dtype=object)
    values[:] = [1, Reduce(os.system, (f"echo ran > {canary}",)), "x"]
    return frame(
        [block(values.reshape(1, 3), slice(0, 1, 1)), block(ONES, slice(1, 2, 1))],
        COLUMNS,
        ROWS,
    )


HUGE = {"start": 0, "stop": 10**18, "step": 1, "name": None}
REFUSED = {
    bad_frame(
        "outside", [block(ONES, slice(0, 1, 1)), block(ONES, slice(5, 6, 1))]
    ): "outside the frame",
    bad_frame(
        "negative", [block(ONES, slice(0, 1, 1)), block(ONES, np.array([-1]))]
    ): "outside the frame",
    bad_frame(
        "overlap", [block(ONES, slice(0, 1, 1)), block(ONES, slice(0, 1, 1))]
    ): "places a column twice",
    bad_frame("missing", [block(ONES, slice(1, 2, 1))]): "without values",
    bad_frame(
        "huge-slice", [block(np.ones((2, 3)), slice(0, 10**18, 1))]
    ): "places 1000000000000000000 columns",
    bad_frame(
        "wrong-length",
        [block(ONES, slice(0, 1, 1)), block(np.ones((1, 5)), slice(1, 2, 1))],
    ): "5 rows in a frame of 3",
    bad_frame(
        "record-dtype", [block(np.ones((2, 3), dtype=[("x", "i4")]), slice(0, 2, 1))]
    ): "dtype not allowed",
    bad_frame(
        "huge-rows",
        [block(np.ones((2, 3)), slice(0, 2, 1))],
        new_index(pd.RangeIndex, HUGE),
    ): "exceed Limits.max_emulator_alloc",
    case(
        "categorical-code",
        frame(
            [
                block(
                    categorical(["x", "y"], np.array([0, 1, 2], dtype="int8")),
                    slice(0, 1, 1),
                ),
                block(ONES, slice(1, 2, 1)),
            ],
            COLUMNS,
            ROWS,
        ),
        ("Categorical.from_codes", *FRAME),
    ): "codes must lie in [-1, 2)",
    case(
        "categorical-negative",
        categorical(["x"], np.array([-2], dtype="int8")),
        ("Categorical.from_codes",),
    ): "codes must lie in [-1, 1)",
    case(
        "multiindex-code",
        new_index(
            pd.MultiIndex,
            {
                "levels": [pd.Index(["a", "b"]), pd.Index([1])],
                "codes": [np.array([0, 1]), np.array([0, 9])],
                "names": [None, None],
                "sortorder": None,
            },
        ),
        ("MultiIndex.__new__",),
    ): "MultiIndex codes",
    case(
        "range-up", new_index(pd.RangeIndex, HUGE), ("RangeIndex.__new__",)
    ): "exceed Limits.max_emulator_alloc",
    case(
        "range-beyond-ssize",
        new_index(pd.RangeIndex, {**HUGE, "stop": 10**30}),
        ("RangeIndex.__new__",),
    ): "exceed Limits.max_emulator_alloc",
    bad_frame(
        "slice-beyond-ssize", [block(ONES, slice(0, 10**30, 1))]
    ): "places 1000000000000000000000000000000 columns",
    case(
        "multiindex-codes-not-arrays",
        new_index(
            pd.MultiIndex, {"levels": [pd.Index([1])], "codes": [5], "names": [None]}
        ),
        ("MultiIndex.__new__",),
    ): "expected a numpy array",
    case(
        "range-down",
        new_index(pd.RangeIndex, {**HUGE, "stop": -(10**18), "step": -1}),
        ("RangeIndex.__new__",),
    ): "exceed Limits.max_emulator_alloc",
}
FORBIDDEN = case("os-system", _system_column)
GENERIC = case("os-system-generic", _system_column, unknown="generic")


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_before_any_constructor(outcomes: dict[str, Any], name: str) -> None:
    kind, text = outcomes[name]
    assert kind == "EmulationError"
    assert REFUSED[name] in text


def test_object_column_calling_os_system_is_forbidden(outcomes: dict[str, Any]) -> None:
    kind, text = outcomes[FORBIDDEN]
    assert kind == "ForbiddenGlobalError"
    assert "system" in text


def test_object_column_with_unknown_generic_holds_stand_ins(
    outcomes: dict[str, Any],
) -> None:
    assert outcomes[GENERIC] == ["loaded", "DataFrame", ["int", "GenericObject", "str"]]
