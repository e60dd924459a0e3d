"""emulpickle_torch.cli_support: the torch knowledge emulpickle's CLI uses.

Checkpoints are written by torch and read back with emulpickle_torch.load;
what the API says is compared with what torch says of the same tensors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import emulpickle_torch
import pytest
from emulpickle_torch import cli_support
from torch_ckpt_helpers import TORCH_REASON

torch = pytest.importorskip("torch", reason=TORCH_REASON)


def _roundtrip(tmp_path: Path, obj: Any) -> Any:
    path = tmp_path / "c.pt"
    torch.save(obj, path)
    return emulpickle_torch.load(path, unknown="generic")


def test_summaries(tmp_path: Path) -> None:
    weight = torch.nn.Parameter(torch.ones(2, 3, dtype=torch.bfloat16))
    sparse = torch.eye(3).to_sparse()
    loaded = _roundtrip(tmp_path, {"w": weight, "b": torch.zeros(4), "s": sparse})
    assert all(cli_support.is_tensor(v) for v in loaded.values())
    assert not cli_support.is_tensor([1])
    w = cli_support.summarize(loaded["w"])
    assert (w.kind, w.dtype, w.shape, w.numel, w.nbytes, w.device) == (
        "Parameter",
        "bfloat16",
        (2, 3),
        6,
        12,
        "cpu",
    )
    assert cli_support.summarize(loaded["b"]).kind == "Tensor"
    s = cli_support.summarize(loaded["s"])
    assert (s.kind, s.shape, s.numel) == ("Tensor (sparse_coo)", (3, 3), 9)
    with pytest.raises(TypeError):
        cli_support.summarize([1])  # type: ignore[arg-type]


def test_tensor_data(tmp_path: Path) -> None:
    dense = torch.tensor([[1.5, -2.0], [0.25, 3.0]], dtype=torch.bfloat16)
    sparse = torch.tensor([[0.0, 2.0], [3.0, 0.0]]).to_sparse()
    loaded = _roundtrip(tmp_path, {"d": dense, "s": sparse})
    assert cli_support.tensor_data(loaded["d"]) == dense.float().tolist()
    assert cli_support.tensor_data(loaded["s"]) == sparse.to_dense().tolist()
    meta = _roundtrip(tmp_path, torch.empty(2, device="meta"))
    assert cli_support.tensor_data(meta) is None


def test_pick_state_dict(tmp_path: Path) -> None:
    state = {"a.weight": torch.ones(2), "a.bias": torch.zeros(2)}
    loaded = _roundtrip(tmp_path, state)
    assert list(cli_support.pick_state_dict(loaded).tensors) == list(state)
    wrapped = _roundtrip(tmp_path, {"epoch": 3, "model": state})
    picked = cli_support.pick_state_dict(wrapped)
    assert (list(picked.tensors), picked.found_at) == (list(state), "model")
    nested = _roundtrip(tmp_path, {"ema": {"model.v1": state}, "x": [state]})
    picked = cli_support.pick_state_dict(nested, "ema.model.v1")
    assert list(picked.tensors) == list(state)
    assert list(cli_support.pick_state_dict(nested, "x.0").tensors) == list(state)
    mixed = _roundtrip(tmp_path, {"sd": {"w": torch.ones(1), "n": 1}})
    picked = cli_support.pick_state_dict(mixed, "sd")
    assert (list(picked.tensors), picked.skipped) == (["w"], 1)


def test_pick_state_dict_of_a_pickled_module(tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    loaded = _roundtrip(tmp_path, model)
    picked = cli_support.pick_state_dict(loaded)
    assert list(picked.tensors) == list(model.state_dict())
    # The names leave out the module's state keys (fc._parameters.weight).
    assert {"_parameters", "_buffers", "_modules"} == cli_support.MODULE_STATE_KEYS


def test_pick_state_dict_errors(tmp_path: Path) -> None:
    loaded = _roundtrip(tmp_path, {"x": 1, "ema": {"w": torch.ones(1)}})
    with pytest.raises(cli_support.StateDictError) as info:
        cli_support.pick_state_dict(loaded)
    assert info.value.candidates == ["'ema'"]
    with pytest.raises(cli_support.StateDictError, match="holds a int, not a dict"):
        cli_support.pick_state_dict(loaded, "x")
    with pytest.raises(cli_support.StateDictError, match="no key 'nope'"):
        cli_support.pick_state_dict(loaded, "nope.w")
    with pytest.raises(cli_support.StateDictError, match="not a state dict"):
        cli_support.pick_state_dict(_roundtrip(tmp_path, [torch.ones(1)]))


def test_safetensors_dtypes_name_torch_dtypes() -> None:
    for name in cli_support.SAFETENSORS_DTYPES:
        assert isinstance(getattr(torch, name), torch.dtype), name
