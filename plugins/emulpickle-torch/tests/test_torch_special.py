"""Sparse, quantized, meta and nested tensors, and TorchScript refusal."""

from __future__ import annotations

import warnings
from pathlib import Path

import emulpickle_torch as et
import numpy as np
import pytest
from torch_ckpt_helpers import TORCH_REASON, assert_same_tensor

torch = pytest.importorskip("torch", reason=TORCH_REASON)


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore")


def test_sparse_layouts(tmp_path: Path) -> None:
    dense = torch.zeros(4, 6)
    dense[0, 1], dense[2, 3], dense[3, 5], dense[1, 0] = 1.5, -2.0, 3.0, 4.0
    obj = {
        "coo": dense.to_sparse(),
        "coo_unco": torch.sparse_coo_tensor([[0, 0], [1, 1]], [1.0, 2.0], (2, 2)),
        "csr": dense.to_sparse_csr(),
        "csc": dense.to_sparse_csc(),
        "bsr": dense.to_sparse_bsr((2, 3)),
        "bsc": dense.to_sparse_bsc((2, 3)),
    }
    path = tmp_path / "s.pt"
    torch.save(obj, path)
    ours = et.load(path)
    for key, tensor in obj.items():
        loaded = ours[key]
        assert isinstance(loaded, et.SparseTensor)
        assert loaded.layout == str(tensor.layout).removeprefix("torch.")
        assert np.array_equal(loaded.to_dense(), tensor.to_dense().numpy())
    assert ours["coo"].is_coalesced is True
    assert_same_tensor(ours["coo"].values, obj["coo"]._values())


def test_quantized(tmp_path: Path) -> None:
    x = torch.randn(3, 4)
    obj = {
        "qt": torch.quantize_per_tensor(x, 0.05, 3, torch.quint8),
        "qc": torch.quantize_per_channel(
            x, torch.tensor([0.1, 0.2, 0.3]), torch.tensor([0, 1, 2]), 0, torch.qint8
        ),
    }
    path = tmp_path / "q.pt"
    torch.save(obj, path)
    ours = et.load(path)
    for key, tensor in obj.items():
        loaded = ours[key]
        assert loaded.quantization is not None
        assert np.array_equal(loaded.numpy(), tensor.int_repr().numpy())
        assert np.allclose(loaded.dequantize(), tensor.dequantize().numpy())
    assert ours["qt"].quantization["qscheme"] == "per_tensor_affine"
    assert ours["qc"].quantization["axis"] == 0


def test_meta_tensors(tmp_path: Path) -> None:
    meta = torch.empty(3, 4, device="meta", dtype=torch.bfloat16).t()
    path = tmp_path / "m.pt"
    torch.save({"m": meta}, path)
    loaded = et.load(path)["m"]
    assert (loaded.device, loaded.dtype, loaded.shape) == ("meta", "bfloat16", (4, 3))
    assert loaded.stride == meta.stride() and loaded.storage is None
    with pytest.raises(ValueError):
        loaded.numpy()


def test_nested_tensor(tmp_path: Path) -> None:
    nested = torch.nested.nested_tensor([torch.randn(2, 3), torch.randn(4, 3)])
    path = tmp_path / "n.pt"
    torch.save({"n": nested}, path)
    loaded = et.load(path)["n"]
    assert isinstance(loaded, et.NestedTensor)
    parts = loaded.unbind()
    for ours, theirs in zip(parts, nested.unbind(), strict=True):
        assert np.array_equal(ours.numpy(), theirs.numpy())


def test_torchscript_archive_refused(tmp_path: Path) -> None:
    path = tmp_path / "script.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), path)
    with pytest.raises(et.TorchScriptArchiveError, match="TorchScript"):
        et.load(path)


def test_parameter_subclass_state(tmp_path: Path) -> None:
    param = torch.nn.Parameter(torch.randn(3))
    param.note = "kept"
    path = tmp_path / "p.pt"
    torch.save(param, path)
    loaded = et.load(path)
    assert loaded.is_parameter
    assert_same_tensor(loaded, param)
    assert "kept" in repr(loaded.state)
