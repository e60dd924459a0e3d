"""``emulpickle show`` / ``convert`` on checkpoints written by torch.

``convert`` output is read back with the safetensors package and compared
tensor by tensor with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from helpers.cli_runner import assert_error, run

from emulpickle.formats.safetensors import Entry, build_header

torch = pytest.importorskip("torch")
pytest.importorskip("emulpickle_torch")
safetensors_torch = pytest.importorskip("safetensors.torch")
safetensors_numpy = pytest.importorskip("safetensors.numpy")


def _state() -> dict[str, Any]:
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(4, 6, generator=gen)
    return {
        "lin.weight": base,
        "lin.weight_t": base.t(),  # a transposed view of the same storage
        "lin.slice": base[1:3, ::2],  # a strided view
        "lin.row": base[2],  # a view at an offset
        "emb": torch.randn(3, 5, generator=gen).to(torch.bfloat16),
        "half": torch.arange(6, dtype=torch.float16).reshape(2, 3),
        "count": torch.tensor(7),
        "mask": torch.tensor([True, False, True]),
        "bytes": torch.arange(5, dtype=torch.uint8),
        "i32": torch.arange(4, dtype=torch.int32),
        "f64": torch.linspace(0, 1, 3, dtype=torch.float64),
        "c64": torch.tensor([1 + 2j, 3 - 4j], dtype=torch.complex64),
        "empty": torch.zeros(0, 3),
    }


def _compare(path: Path, expected: dict[str, Any]) -> None:
    """The file holds ``expected``; tied tensors once, aliases in metadata."""
    from safetensors import safe_open

    got = safetensors_torch.load_file(str(path))
    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    for removed, kept in meta.items():
        if removed in expected and removed not in got:
            got[removed] = got[kept]
    assert set(got) == set(expected)
    for name, ref in expected.items():
        assert got[name].dtype == ref.dtype, name
        assert got[name].shape == ref.shape, name
        assert torch.equal(got[name], ref), name


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    path = tmp_path / "model.pt"
    torch.save(_state(), path)
    return path


def test_show_checkpoint(checkpoint: Path) -> None:
    proc = run("show", checkpoint)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "torch checkpoint (zip format)"
    assert "  'emb': Tensor bfloat16 [3, 5] cpu" in lines
    assert any(line.startswith("13 tensors, ") for line in lines)
    row = next(line for line in lines if line.startswith("lin.weight_t "))
    assert row.split() == [
        "lin.weight_t",
        "float32",
        "[6,",
        "4]",
        "24",
        "96",
        "B",
        "cpu",
        *["shares", "storage", "with", "lin.weight"],
    ]


def test_show_checkpoint_json(checkpoint: Path) -> None:
    data = json.loads(run("show", "--json", checkpoint).stdout)
    assert data["format"] == "torch-zip"
    assert data["tree"]["emb"] == {
        "$tensor": {"dtype": "bfloat16", "shape": [3, 5], "device": "cpu"}
    }
    names = [row["name"] for row in data["tensors"]]
    assert names == list(_state())
    assert data["totals"]["count"] == 13


def test_show_module_and_legacy(tmp_path: Path) -> None:
    module = tmp_path / "m.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(3, 2)), module)
    out = run("show", module).stdout
    assert "torch.nn.modules.container.Sequential(...)" in out
    assert "0.weight  float32" in out
    legacy = tmp_path / "legacy.pt"
    torch.save(_state(), legacy, _use_new_zipfile_serialization=False)
    out = run("show", legacy).stdout
    assert out.startswith("torch checkpoint (legacy format)")


def test_json_checkpoint_with_data(checkpoint: Path) -> None:
    data = json.loads(run("json", "--with-data", checkpoint).stdout)
    assert data["lin.weight_t"] == _state()["lin.weight_t"].tolist()
    assert data["mask"] == [True, False, True]
    assert data["emb"] == _state()["emb"].float().tolist()


def test_convert(checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.safetensors"
    proc = run("convert", checkpoint, out, "--metadata", "source=test", "k=a=b")
    assert proc.returncode == 0, proc.stderr
    assert "wrote 13 tensors" in proc.stderr
    _compare(out, torch.load(checkpoint, weights_only=True))
    from safetensors import safe_open

    with safe_open(str(out), "np") as f:
        assert f.metadata() == {"format": "pt", "source": "test", "k": "a=b"}
    # numpy reader (no bf16 there): the other tensors, as numpy arrays
    reference = torch.load(checkpoint, weights_only=True)
    header_len = struct.unpack("<Q", out.read_bytes()[:8])[0]
    assert header_len % 8 == 0
    with safe_open(str(out), "np") as f:
        for name in f.keys():  # noqa: SIM118 - safe_open is not a dict
            if reference[name].dtype != torch.bfloat16:
                assert (f.get_tensor(name) == reference[name].numpy()).all()


def test_convert_shared_storage_is_independent(tmp_path: Path) -> None:
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    state = {"a": base, "b": base, "t": base.t(), "tail": base.view(-1)[5:]}
    src = tmp_path / "shared.pt"
    torch.save(state, src)
    out = tmp_path / "shared.safetensors"
    proc = run("convert", src, out)
    assert proc.returncode == 0, proc.stderr
    assert set(safetensors_numpy.load_file(str(out))) == {"a", "t", "tail"}
    _compare(out, torch.load(src, weights_only=True))
    loaded = safetensors_numpy.load_file(str(out))
    assert loaded["t"].flags.c_contiguous
    assert loaded["t"].tolist() == base.t().tolist()


def test_convert_picks_nested_state_dict(tmp_path: Path) -> None:
    src = tmp_path / "ckpt.pt"
    torch.save({"epoch": 3, "model": _state(), "opt": {"lr": 0.1}}, src)
    out = tmp_path / "a.safetensors"
    proc = run("convert", src, out)
    assert proc.returncode == 0, proc.stderr
    assert "'model'" in proc.stderr
    _compare(out, _state())
    out2 = tmp_path / "b.safetensors"
    assert run("convert", src, out2, "--key", "model").returncode == 0
    _compare(out2, _state())


def test_convert_key_with_dots(tmp_path: Path) -> None:
    src = tmp_path / "ckpt.pt"
    inner = {"w": torch.ones(2)}
    torch.save({"ema": {"model.v1": inner}, "x": 1}, src)
    out = tmp_path / "a.safetensors"
    proc = run("convert", src, out, "--key", "ema.model.v1")
    assert proc.returncode == 0, proc.stderr
    _compare(out, inner)


def test_convert_module(tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    src = tmp_path / "m.pt"
    torch.save(model, src)
    out = tmp_path / "m.safetensors"
    proc = run("convert", src, out)
    assert proc.returncode == 0, proc.stderr
    _compare(out, {k: v for k, v in model.state_dict().items()})


def test_convert_legacy(tmp_path: Path) -> None:
    src = tmp_path / "legacy.pt"
    torch.save(_state(), src, _use_new_zipfile_serialization=False)
    out = tmp_path / "l.safetensors"
    assert run("convert", src, out).returncode == 0
    _compare(out, _state())


def test_convert_refuses_overwrite(checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "exists.safetensors"
    out.write_bytes(b"keep me")
    assert_error(run("convert", checkpoint, out), 2)
    assert out.read_bytes() == b"keep me"
    assert run("convert", checkpoint, out, "--force").returncode == 0
    _compare(out, _state())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_convert_errors(tmp_path: Path) -> None:
    src = tmp_path / "ckpt.pt"
    torch.save({"opt": {"lr": 0.1}, "step": 3}, src)
    out = tmp_path / "o.safetensors"
    assert_error(run("convert", src, out), 1)
    assert_error(run("convert", src, out, "--key", "nope"), 1)
    assert_error(run("convert", src, out, "--metadata", "novalue"), 2)
    assert_error(run("convert", tmp_path / "missing.pt", out), 2)
    c128 = tmp_path / "c128.pt"
    torch.save({"z": torch.zeros(2, dtype=torch.complex128)}, c128)
    proc = run("convert", c128, out)
    assert_error(proc, 1)
    assert "complex128" in proc.stderr
    assert not out.exists()


def test_header_layout() -> None:
    entries = [
        Entry("a", "F32", (2, 3), lambda: []),
        Entry("b", "U8", (5,), lambda: []),
    ]
    raw = build_header(entries, {"format": "pt"})
    assert (8 + len(raw)) % 8 == 0
    header = json.loads(raw)
    assert header["a"]["data_offsets"] == [0, 24]
    assert header["b"]["data_offsets"] == [24, 29]
    assert header["__metadata__"] == {"format": "pt"}
