"""``emulpickle.to_builtins`` of numpy's arrays, scalars and dtypes.

Pickled by ``pickle`` itself, loaded with the numpy plugin: the result is
builtins only (unchanged by a JSON round trip) and what ``emulpickle json``
writes for the same file.
"""

from __future__ import annotations

import contextlib
import io
import json
import pickle
from pathlib import Path

import numpy as np

import emulpickle
from emulpickle import cli


def test_arrays_convert_as_emulpickle_json_writes_them(tmp_path: Path) -> None:
    record = np.dtype([("x", "<f4"), ("y", "<i2")])
    value = {
        "weights": np.arange(6, dtype=np.float32).reshape(2, 3),
        "records": np.zeros(2, dtype=record),
        "objects": np.array([1, "a"], dtype=object),
        "count": np.int64(3),
        "ratio": np.float16(0.5),
        "flag": np.bool_(True),
        "dtype": np.dtype("<u2"),
    }
    path = tmp_path / "arrays.pkl"
    path.write_bytes(pickle.dumps(value, protocol=4))
    registry = emulpickle.Registry.with_plugins("numpy")
    loaded = emulpickle.loads(path.read_bytes(), registry=registry)
    data = emulpickle.to_builtins(loaded)
    assert json.loads(json.dumps(data)) == data
    assert data["weights"] == {
        "$tensor": {"dtype": "float32", "shape": [2, 3], "device": "cpu"}
    }
    assert data["records"]["$tensor"]["dtype"] == "<structured dtype of 6 bytes>"
    assert data["objects"]["$tensor"]["dtype"] == "object"
    assert (data["count"], data["ratio"], data["flag"]) == (3, 0.5, True)
    assert data["dtype"] == {"$type": "numpy.dtype", "value": "uint16"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["json", str(path)]) == 0
    assert json.loads(out.getvalue()) == data
