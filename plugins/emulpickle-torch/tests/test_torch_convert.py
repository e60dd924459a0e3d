"""``emulpickle convert`` and ``emulpickle_torch.convert_checkpoint`` on
checkpoints written by torch, read back by the real readers.

safetensors files are read with the ``safetensors`` package, ``.npz`` files
with ``numpy.load``; values are compared with the tensors torch saved.
Nothing may be dropped silently: a tensor is written, recorded as an alias
of one that is, or listed in an error (exit status 1).
"""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path
from typing import Any

import emulpickle_torch
import numpy as np
import pytest
from helpers.cli_runner import assert_error, run
from torch_ckpt_helpers import TORCH_REASON

torch = pytest.importorskip("torch", reason=TORCH_REASON)
quantization = pytest.importorskip("torch.ao.quantization")
HAVE_SAFETENSORS = importlib.util.find_spec("safetensors") is not None

#: safetensors dtype -> torch dtype, for reading without the package.
_ST_DTYPES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U8": "uint8",
    "BOOL": "bool",
}


def _read_safetensors(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The tensors and metadata, read by the safetensors package when it is
    installed, else by parsing the header here."""
    if HAVE_SAFETENSORS:
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, f.metadata() or {}  # noqa: SIM118
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    meta = header.pop("__metadata__", {})
    data = raw[8 + size :]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = getattr(torch, _ST_DTYPES[info["dtype"]])
        flat = torch.frombuffer(bytearray(data[begin:end]) or bytearray(1), dtype=dtype)
        tensors[name] = flat[: end - begin and None].reshape(info["shape"])
    return tensors, meta


def _read_npz(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = dict(arrays.pop("__metadata__").tolist())
    return arrays, meta


class TiedModel(torch.nn.Module):
    """An embedding and an output layer sharing one weight (as GPT-2 does)."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(7, 4)
        self.mid = torch.nn.Linear(4, 4)
        self.head = torch.nn.Linear(4, 7, bias=False)
        self.head.weight = self.emb.weight


@pytest.fixture
def tied(tmp_path: Path) -> tuple[TiedModel, Path]:
    torch.manual_seed(0)
    model = TiedModel()
    path = tmp_path / "tied.pt"
    torch.save(model.state_dict(), path)
    return model, path


# ------------------------------------------------------------------ tied


def test_tied_weights_safetensors_once_with_alias(
    tied: tuple[TiedModel, Path], tmp_path: Path
) -> None:
    model, src = tied
    out = tmp_path / "tied.safetensors"
    proc = run("convert", src, out)
    assert proc.returncode == 0, proc.stderr
    assert "'head.weight' -> 'emb.weight'" in proc.stderr
    tensors, meta = _read_safetensors(out)
    assert set(tensors) == {"emb.weight", "mid.weight", "mid.bias"}
    assert meta["head.weight"] == "emb.weight"  # as safetensors.torch.save_model
    for name, ref in model.state_dict().items():
        assert torch.equal(tensors[meta.get(name, name)], ref), name
    if not HAVE_SAFETENSORS:
        return
    # The file is what safetensors' own save_model writes for this model,
    # and its load_model reads it back into a fresh model.
    import safetensors.torch

    fresh = TiedModel()
    safetensors.torch.load_model(fresh, str(out))
    for name, ref in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], ref), name
    reference = tmp_path / "reference.safetensors"
    safetensors.torch.save_model(model, str(reference))
    assert _data_size(out) == _data_size(reference)  # not one tied copy more


def _data_size(path: Path) -> int:
    raw = path.read_bytes()
    return len(raw) - 8 - struct.unpack("<Q", raw[:8])[0]


def test_tied_weights_npz_once_with_alias(
    tied: tuple[TiedModel, Path], tmp_path: Path
) -> None:
    model, src = tied
    out = tmp_path / "tied.npz"
    proc = run("convert", src, out)
    assert proc.returncode == 0, proc.stderr
    arrays, meta = _read_npz(out)
    assert set(arrays) == {"emb.weight", "mid.weight", "mid.bias"}
    assert meta["head.weight"] == "emb.weight"
    assert meta["format"] == "pt"
    for name, ref in model.state_dict().items():
        np.testing.assert_array_equal(arrays[meta.get(name, name)], ref.numpy())


def test_tied_weights_of_a_pickled_module_and_legacy_file(
    tied: tuple[TiedModel, Path], tmp_path: Path
) -> None:
    model, _ = tied
    whole = tmp_path / "whole.pt"
    torch.save(model, whole)
    legacy = tmp_path / "legacy.pt"
    torch.save(model.state_dict(), legacy, _use_new_zipfile_serialization=False)
    for src in (whole, legacy):
        report = emulpickle_torch.convert_checkpoint(src, tmp_path / f"{src.stem}.npz")
        assert report.aliases == {"head.weight": "emb.weight"}
        assert set(report.written) == {"emb.weight", "mid.weight", "mid.bias"}


def test_views_that_differ_are_written_as_copies(tmp_path: Path) -> None:
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    src = tmp_path / "views.pt"
    torch.save({"a": base, "t": base.t(), "row": base[1]}, src)
    report = emulpickle_torch.convert_checkpoint(src, tmp_path / "v.safetensors")
    assert report.aliases == {}
    assert report.copies == {"t": "a", "row": "a"}
    tensors, _ = _read_safetensors(tmp_path / "v.safetensors")
    assert torch.equal(tensors["t"], base.t()) and torch.equal(tensors["row"], base[1])


# ------------------------------------------------------------- quantized


def _dequantized(tensors: dict[str, Any], meta: dict[str, str], name: str) -> Any:
    """A quantized tensor rebuilt from the documented parts, by torch."""
    record = json.loads(meta["emulpickle.quantized"])[name]
    dtype = getattr(torch, record["dtype"])
    ints = torch.as_tensor(tensors[name])
    scale = torch.as_tensor(tensors[f"{name}.scale"])
    zero = torch.as_tensor(tensors[f"{name}.zero_point"])
    if record["qscheme"].startswith("per_channel"):
        axis = int(tensors[f"{name}.axis"])
        assert record["axis"] == axis
        q = torch._make_per_channel_quantized_tensor(ints, scale, zero, axis)
    else:
        q = torch._make_per_tensor_quantized_tensor(ints, float(scale), int(zero))
    assert q.dtype == dtype
    return q


@pytest.mark.parametrize("suffix", ["safetensors", "npz"])
def test_quantized_tensors_per_tensor_and_per_channel(
    tmp_path: Path, suffix: str
) -> None:
    torch.manual_seed(0)
    per_channel = torch.quantize_per_channel(
        torch.randn(3, 5),
        torch.tensor([0.1, 0.02, 0.3], dtype=torch.float64),
        torch.tensor([0, 3, -2]),
        0,
        torch.qint8,
    )
    per_tensor = torch.quantize_per_tensor(torch.randn(4, 2), 0.05, 7, torch.quint8)
    src = tmp_path / "q.pt"
    torch.save({"pc": per_channel, "pt": per_tensor, "dense": torch.ones(2)}, src)
    out = tmp_path / f"q.{suffix}"
    proc = run("convert", src, out)
    assert proc.returncode == 0, proc.stderr
    tensors, meta = (_read_npz if suffix == "npz" else _read_safetensors)(out)
    assert set(tensors) == {
        "dense",
        "pc",
        "pc.scale",
        "pc.zero_point",
        "pc.axis",
        "pt",
        "pt.scale",
        "pt.zero_point",
    }
    for name, ref in (("pc", per_channel), ("pt", per_tensor)):
        rebuilt = _dequantized(tensors, meta, name)
        assert torch.equal(rebuilt.int_repr(), ref.int_repr()), name
        assert torch.equal(rebuilt.dequantize(), ref.dequantize()), name


def _dynamic_quantized() -> Any:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2)
    )
    return quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _static_quantized() -> Any:
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.quant = quantization.QuantStub()
            self.fc = torch.nn.Linear(4, 3)
            self.dequant = quantization.DeQuantStub()

        def forward(self, x: Any) -> Any:
            return self.dequant(self.fc(self.quant(x)))

    torch.manual_seed(0)
    net = Net().eval()
    net.qconfig = quantization.get_default_qconfig("fbgemm")  # per-channel weights
    prepared = quantization.prepare(net)
    prepared(torch.randn(16, 4))
    return quantization.convert(prepared)


@pytest.mark.parametrize("build", [_dynamic_quantized, _static_quantized])
def test_quantized_model_state_dict(tmp_path: Path, build: Any) -> None:
    """The issue's case: this said "no state dict", and --key "" exited 0
    having dropped every quantized weight."""
    model = build()
    src = tmp_path / "quant.pt"
    torch.save(model.state_dict(), src)
    for args in ([], ["--key", ""]):
        out = tmp_path / f"quant{len(args)}.safetensors"
        proc = run("convert", src, out, *args)
        assert proc.returncode == 0, proc.stderr
        assert "quantized tensors written as integers" in proc.stderr
        tensors, meta = _read_safetensors(out)
        count = 0
        for key, value in model.state_dict().items():
            if isinstance(value, tuple):  # packed (weight, bias)
                weight, bias = value
                name = f"{key}.0"
                rebuilt = _dequantized(tensors, meta, name)
                assert torch.equal(rebuilt.int_repr(), weight.int_repr())
                assert torch.equal(rebuilt.dequantize(), weight.dequantize())
                assert torch.equal(tensors[f"{key}.1"], bias)
                count += 1
            elif isinstance(value, torch.Tensor):
                assert torch.equal(tensors[key], value), key
        assert count >= 1


def test_quantized_whole_model_is_an_error_listing_the_tensors(tmp_path: Path) -> None:
    src = tmp_path / "quant_model.pt"
    torch.save(_dynamic_quantized(), src)
    out = tmp_path / "q.npz"
    for args in ([], ["--key", ""], ["--skip-unsupported"]):
        proc = run("convert", src, out, *args)
        assert_error(proc, 1)
        assert "0._packed_params._packed_params" in proc.stderr
        assert not out.exists()


# ---------------------------------------------------------------- sparse


@pytest.mark.parametrize("suffix", ["safetensors", "npz"])
def test_sparse_state_dict(tmp_path: Path, suffix: str) -> None:
    dense = torch.tensor([[0.0, 2.0, 0.0], [3.0, 0.0, 4.0]])
    coo = dense.to_sparse()
    csr = dense.to_sparse_csr()
    src = tmp_path / "sparse.pt"
    torch.save({"coo": coo, "csr": csr, "w": torch.ones(2)}, src)
    out = tmp_path / f"sparse.{suffix}"
    proc = run("convert", src, out)
    assert proc.returncode == 0, proc.stderr
    tensors, meta = (_read_npz if suffix == "npz" else _read_safetensors)(out)
    t = {k: torch.as_tensor(v) for k, v in tensors.items()}
    layouts = json.loads(meta["emulpickle.sparse"])
    assert layouts == {
        "coo": {"layout": "sparse_coo", "shape": [2, 3]},
        "csr": {"layout": "sparse_csr", "shape": [2, 3]},
    }
    rebuilt_coo = torch.sparse_coo_tensor(t["coo.indices"], t["coo.values"], (2, 3))
    assert torch.equal(rebuilt_coo.to_dense(), dense)
    rebuilt_csr = torch.sparse_csr_tensor(
        t["csr.crow_indices"], t["csr.col_indices"], t["csr.values"], (2, 3)
    )
    assert torch.equal(rebuilt_csr.to_dense(), dense)


# ------------------------------------------------------ dtypes and errors


def test_npz_bfloat16_as_raw_bits(tmp_path: Path) -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    ref = torch.tensor([1.5, -2.25, 3e38], dtype=torch.bfloat16)
    src = tmp_path / "bf.pt"
    torch.save({"bf": ref}, src)
    out = tmp_path / "bf.npz"
    proc = run("convert", src, out)
    assert proc.returncode == 0, proc.stderr
    assert "raw bits" in proc.stderr
    arrays, meta = _read_npz(out)
    assert arrays["bf"].dtype == np.uint16
    assert json.loads(meta["emulpickle.dtypes"]) == {"bf": "bfloat16"}
    values = arrays["bf"].view(ml_dtypes.bfloat16).astype(np.float32)
    np.testing.assert_array_equal(values, ref.float().numpy())


def test_unsupported_dtype_is_listed_and_nothing_written(tmp_path: Path) -> None:
    src = tmp_path / "c.pt"
    state = {
        "z1": torch.zeros(2, dtype=torch.complex128),
        "w": torch.ones(2),
        "z2": torch.ones(1, dtype=torch.complex128),
    }
    torch.save(state, src)
    out = tmp_path / "c.safetensors"
    proc = run("convert", src, out)
    assert_error(proc, 1)
    assert "'z1'" in proc.stderr and "'z2'" in proc.stderr
    assert "--skip-unsupported" in proc.stderr
    assert not out.exists()
    proc = run("convert", src, out, "--skip-unsupported")
    assert proc.returncode == 0, proc.stderr
    assert "NOT written" in proc.stderr and "'z1'" in proc.stderr
    assert set(_read_safetensors(out)[0]) == {"w"}
    # .npz holds complex128.
    arrays, _ = _read_npz(_converted(src, tmp_path / "c.npz"))
    np.testing.assert_array_equal(arrays["z2"], state["z2"].numpy())


def _converted(src: Path, out: Path) -> Path:
    proc = run("convert", src, out)
    assert proc.returncode == 0, proc.stderr
    return out


def test_output_extension_decides_the_format(
    tied: tuple[TiedModel, Path], tmp_path: Path
) -> None:
    _, src = tied
    for name in ("out.bin", "out.npy", "out", "out.safetensors.tmp"):
        proc = run("convert", src, tmp_path / name)
        assert_error(proc, 2)
        assert ".safetensors or .npz" in proc.stderr
        assert not (tmp_path / name).exists()
    upper = _converted(src, tmp_path / "OUT.NPZ")
    assert upper.read_bytes()[:2] == b"PK"  # a zip (npz), not safetensors bytes
    with pytest.raises(emulpickle_torch.ConversionError):
        emulpickle_torch.convert_checkpoint(src, tmp_path / "x.pt")


def test_missing_output_directory(tied: tuple[TiedModel, Path], tmp_path: Path) -> None:
    _, src = tied
    out = tmp_path / "no" / "such" / "dir" / "m.safetensors"
    proc = run("convert", src, out)
    assert_error(proc, 2)
    assert "does not exist" in proc.stderr and ".tmp" not in proc.stderr
    with pytest.raises(FileNotFoundError, match="does not exist"):
        emulpickle_torch.convert_checkpoint(src, out)


def test_public_function_report(tied: tuple[TiedModel, Path], tmp_path: Path) -> None:
    _, src = tied
    out = tmp_path / "m.safetensors"
    loaded = emulpickle_torch.load(src)
    report = emulpickle_torch.convert_checkpoint(loaded, out, metadata={"source": "x"})
    assert report.format == "safetensors"
    assert report.target == str(out)
    assert report.nbytes == out.stat().st_size
    assert report.aliases == {"head.weight": "emb.weight"}
    assert report.skipped == {} and report.not_tensors == {}
    assert "wrote 3 tensors" in report.summary()
    assert _read_safetensors(out)[1]["source"] == "x"
    with pytest.raises(FileExistsError):
        emulpickle_torch.convert_checkpoint(src, out)
    again = emulpickle_torch.convert_checkpoint(src, out, overwrite=True)
    assert again.written == report.written
    c128 = tmp_path / "c.pt"
    torch.save({"z": torch.zeros(1, dtype=torch.complex128), "w": torch.ones(1)}, c128)
    with pytest.raises(emulpickle_torch.ConversionError) as info:
        emulpickle_torch.convert_checkpoint(c128, tmp_path / "c.safetensors")
    assert info.value.unsupported == {"z": "safetensors has no dtype complex128"}
    partial = emulpickle_torch.convert_checkpoint(
        c128, tmp_path / "c.safetensors", skip_unsupported=True
    )
    assert partial.skipped == {"z": "safetensors has no dtype complex128"}
    assert partial.written == ("w",)
