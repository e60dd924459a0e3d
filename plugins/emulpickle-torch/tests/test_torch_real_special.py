"""Real sparse, quantized, nested, meta tensors and tensors with attributes,
compared with ``torch.load(weights_only=True)``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import emulpickle_torch as et
import pytest
from real_compare import assert_same
from torch_ckpt_helpers import TORCH_REASON

torch = pytest.importorskip("torch", reason=TORCH_REASON)


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore")


def _special() -> dict[str, Any]:
    torch.manual_seed(0)
    indices = torch.tensor([[0, 1, 1], [2, 0, 2]])
    coo = torch.sparse_coo_tensor(indices, torch.tensor([3.0, 4, 5]), (2, 3))
    dense = torch.tensor([[1.0, 0, 2], [0, 3, 0]])
    with_attribute = torch.ones(2)
    with_attribute.note = "kept"  # type: ignore[attr-defined]
    return {
        "coo": coo,
        "coo_coalesced": coo.coalesce(),
        "coo_hybrid": torch.sparse_coo_tensor(indices, torch.ones(3, 2), (2, 3, 2)),
        "csr": dense.to_sparse_csr(),
        "csc": dense.to_sparse_csc(),
        "bsr": torch.eye(4).to_sparse_bsr((2, 2)),
        "bsc": torch.eye(4).to_sparse_bsc((2, 2)),
        "q_tensor": torch.quantize_per_tensor(torch.randn(4), 0.1, 3, torch.quint8),
        "q_channel": torch.quantize_per_channel(
            torch.randn(3, 4),
            torch.tensor([0.1, 0.2, 0.3], dtype=torch.double),
            torch.tensor([0, 1, 2]),
            0,
            torch.qint8,
        ),
        "q_int32": torch.quantize_per_tensor(torch.randn(3), 0.5, 0, torch.qint32),
        "nested": torch.nested.nested_tensor([torch.ones(2, 3), torch.zeros(4, 3)]),
        "meta": torch.empty(3, 4, device="meta"),
        "meta_strided": torch.empty_strided((2, 3), (1, 2), device="meta"),
        "attribute": with_attribute,
    }


@pytest.mark.parametrize("name", sorted(_special()))
def test_special_same_as_torch_load(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s.pt"
    torch.save({name: _special()[name]}, path)
    theirs = torch.load(path, weights_only=True)
    ours = et.torch_load(path)
    assert_same(ours, theirs)
    assert_same(et.load(path, tensors="torch"), theirs)
    if name == "attribute":
        assert ours[name].note == "kept"


def test_parameter_with_attribute(tmp_path: Path) -> None:
    param = torch.nn.Parameter(torch.ones(2))
    param.tag = 7  # type: ignore[attr-defined]
    path = tmp_path / "p.pt"
    torch.save({"p": param}, path)
    ours = et.torch_load(path)
    assert_same(ours, torch.load(path, weights_only=True))
    assert type(ours["p"]) is torch.nn.Parameter and ours["p"].tag == 7


def test_meta_map_location_reads_no_data(tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    torch.save({"w": torch.ones(3), "coo": _special()["coo"]}, path)
    ours = et.torch_load(path, map_location="meta")
    assert ours["w"].is_meta
    assert ours["w"].shape == (3,)
