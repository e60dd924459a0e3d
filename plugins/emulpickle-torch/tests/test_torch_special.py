"""Sparse, quantized, meta, nested, numpy-backed device and complex32 tensors."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Any

import emulpickle_torch as et
import numpy as np
import pytest
from torch_ckpt_helpers import TORCH_REASON, assert_same_tensor, bits, rewrite_zip

import emulpickle

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


class _SavedFromNumpy:
    """Pickles the way torch once saved XLA tensors: through a numpy array."""

    def __init__(self, array: Any, dtype: Any, requires_grad: object = False) -> None:
        self.args = (array, dtype, "xla:0", requires_grad)

    def __reduce__(self) -> tuple[Any, ...]:
        return (torch._utils._rebuild_device_tensor_from_numpy, self.args)


def _alias_xla(name: str, data: bytes) -> tuple[str, bytes, int]:
    # The old name torch keeps as an alias; pickle writes the function's own name.
    new = data.replace(
        b"\n_rebuild_device_tensor_from_numpy\n", b"\n_rebuild_xla_tensor\n"
    )
    return name, new, zipfile.ZIP_STORED


@pytest.mark.parametrize("alias", [False, True])
def test_device_tensor_from_numpy(tmp_path: Path, alias: bool) -> None:
    gen = np.random.default_rng(3)
    arrays = {
        "f32": (gen.standard_normal((3, 4)).astype(np.float32), torch.float32, True),
        "fortran": (
            np.asfortranarray(gen.standard_normal((3, 5))),
            torch.float64,
            False,
        ),
        "i64": (gen.integers(-9, 9, (2, 3)), torch.int64, False),
        "u8": (gen.integers(0, 255, 7).astype(np.uint8), torch.uint8, False),
        "bool": (gen.random(4) > 0.5, torch.bool, False),
        "c64": (gen.standard_normal(3).astype(np.complex64), torch.complex64, False),
        "scalar": (np.array(2.5, np.float16), torch.float16, False),
        "empty": (np.zeros((0, 3), np.int32), torch.int32, False),
        "big_endian": (np.arange(5, dtype=">f4"), torch.float32, False),
    }
    obj = {key: _SavedFromNumpy(*spec) for key, spec in arrays.items()}
    path = tmp_path / "xla.pt"
    torch.save(obj, path)
    if alias:
        path = rewrite_zip(path, tmp_path / "alias.pt", _alias_xla)
        assert b"_rebuild_xla_tensor" in path.read_bytes()
    theirs = torch.load(path, weights_only=False, map_location="cpu")
    ours = et.load(path)
    for key, (array, _, _) in arrays.items():
        assert_same_tensor(ours[key], theirs[key])
        assert ours[key].device == "xla:0"
        assert ours[key].numpy().strides == array.strides  # the array's own layout


def test_device_tensor_from_numpy_refusals(tmp_path: Path) -> None:
    cases = {
        "dtype": (np.arange(3, dtype=np.float32), torch.float64),  # a conversion
        "grad": (np.arange(3, dtype=np.int64), torch.int64, "yes"),
        "list": ([1.0, 2.0], torch.float32),
    }
    for key, spec in cases.items():
        path = tmp_path / f"{key}.pt"
        torch.save({"x": _SavedFromNumpy(*spec)}, path)
        with pytest.raises(emulpickle.EmulationError):
            et.load(path)


def _as_complex64(tensor: Any) -> Any:
    """A chalf tensor's values with its bits applied, computed by torch.

    torch cannot resolve the bits of a chalf tensor on CPU, but converting to
    complex64 applies a lone neg or conj bit (and float16 -> float32 is exact).
    """
    if tensor.is_conj() and tensor.is_neg():
        return _as_complex64(tensor.conj()).conj().resolve_conj()
    return tensor.to(torch.complex64)


def test_complex32_numpy_view(tmp_path: Path) -> None:
    z = torch.randn(3, 4, dtype=torch.complex64).to(torch.complex32)
    obj = {"z": z, "t": z.t(), "conj": z.conj(), "neg": torch._neg_view(z)}
    obj["both"] = torch._neg_view(z.conj())
    path = tmp_path / "chalf.pt"
    torch.save(obj, path)
    ours, theirs = et.load(path), torch.load(path, weights_only=True)
    for key in ("z", "t"):
        assert_same_tensor(ours[key], theirs[key])
    for key in obj:
        pairs = torch.view_as_real(_as_complex64(theirs[key])).to(torch.float16)
        assert np.array_equal(bits(ours[key].numpy()), pairs.view(torch.uint16).numpy())
    array = ours["z"].numpy()
    assert array.dtype == np.dtype(et.COMPLEX32) and array.dtype.names == (
        "real",
        "imag",
    )
    assert np.shares_memory(array, ours["t"].numpy())  # zero-copy views of the file
    assert not array.flags.writeable
    assert np.array_equal(ours["conj"].numpy(resolve=False), array)
