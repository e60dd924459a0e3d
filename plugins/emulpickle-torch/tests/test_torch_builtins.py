"""``emulpickle.to_builtins`` of what ``emulpickle_torch.load`` returns.

Checkpoints written by torch convert to builtins only (the JSON round trip
gives them back unchanged), with no private class or reader of the plugin
in them, and exactly as ``emulpickle json`` writes the same file.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path
from typing import Any

import emulpickle_torch
import numpy as np
import pytest
from torch_ckpt_helpers import TORCH_REASON

import emulpickle
from emulpickle import cli

torch = pytest.importorskip("torch", reason=TORCH_REASON)

BUILTINS = (dict, list, str, int, float, bool, type(None))


def _only_builtins(value: object) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        assert type(item) in BUILTINS, type(item)
        if type(item) is dict:
            assert all(type(k) is str for k in item)
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)


def _cli_json(path: Path) -> Any:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["json", str(path)]) == 0
    return json.loads(out.getvalue())


def _checkpoint() -> dict[str, Any]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(4, 3)).sum().backward()
    optimizer.step()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantized and nested: prototype APIs
        quantized = torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.qint8)
        nested = torch.nested.nested_tensor([torch.ones(2), torch.ones(3)])
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "dtype": torch.bfloat16,
        "layout": torch.sparse_coo,
        "device": torch.device("cuda", 1),
        "parameter": torch.nn.Parameter(torch.ones(2, dtype=torch.float16)),
        "sparse": torch.eye(3).to_sparse(),
        "quantized": quantized,
        "nested": nested,
        "array": np.arange(6, dtype=np.int16).reshape(2, 3),
        "scalar": np.float32(0.5),
        "step": np.int64(7),
    }


def test_a_checkpoint_converts_as_emulpickle_json_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.pt"
    torch.save(_checkpoint(), path)
    data = emulpickle.to_builtins(emulpickle_torch.load(path))
    _only_builtins(data)
    assert json.loads(json.dumps(data)) == data
    text = json.dumps(data)
    assert "_reader" not in text and "emulpickle_torch" not in text
    assert data == _cli_json(path)  # nothing is shared: the same document
    assert data["model"]["0.weight"] == {
        "$tensor": {"dtype": "float32", "shape": [2, 3], "device": "cpu"}
    }
    assert data["parameter"]["$tensor"]["kind"] == "Parameter"
    assert data["sparse"]["$tensor"]["kind"] == "Tensor (sparse_coo)"
    assert data["quantized"]["$tensor"]["kind"] == "quantized Tensor"
    assert data["nested"]["$tensor"]["shape"] is None
    assert data["dtype"] == {"$type": "global", "name": "torch.bfloat16"}
    assert data["layout"] == {"$type": "global", "name": "torch.sparse_coo"}
    assert data["device"] == {"$type": "torch.device", "value": "cuda:1"}
    assert data["array"] == {
        "$tensor": {"dtype": "int16", "shape": [2, 3], "device": "cpu"}
    }
    assert (data["scalar"], data["step"]) == (0.5, 7)


def test_shared_tensors_and_whole_models(tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    model[1].weight = model[0].weight  # tied
    path = tmp_path / "model.pt"
    torch.save({"model": model, "storage": torch.ones(2).untyped_storage()}, path)
    data = emulpickle.to_builtins(emulpickle_torch.load(path, unknown="generic"))
    _only_builtins(data)
    assert json.loads(json.dumps(data)) == data
    text = json.dumps(data)
    assert "_reader" not in text and "emulpickle_torch" not in text
    modules = data["model"]["state"]["_modules"]
    first = modules["0"]["state"]["_parameters"]["weight"]
    assert first["$tensor"]["kind"] == "Parameter" and "$id" in first
    assert modules["1"]["state"]["_parameters"]["weight"] == {"$ref": first["$id"]}
    assert data["storage"] == {
        "$storage": {"key": "3", "nbytes": 8, "location": "cpu", "dtype": "uint8"}
    }
