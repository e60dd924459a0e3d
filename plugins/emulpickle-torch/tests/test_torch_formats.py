"""Checkpoints written by real torch, compared bit for bit with torch.load."""

from __future__ import annotations

import argparse
import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import emulpickle_torch as et
import numpy as np
import pytest
from torch_ckpt_helpers import TORCH_REASON, assert_same_tensor, rewrite_zip

import emulpickle

torch = pytest.importorskip("torch", reason=TORCH_REASON)

DTYPES = [
    "float64", "float32", "float16", "bfloat16", "int64", "int32", "int16",
    "int8", "uint8", "uint16", "uint32", "uint64", "bool", "complex64",
    "complex128", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
    "float8_e5m2fnuz",
]  # fmt: skip


def sample(dtype_name: str, shape: tuple[int, ...] = (3, 5)) -> Any:
    dtype = getattr(torch, dtype_name)
    gen = torch.Generator().manual_seed(1234)
    if dtype is torch.bool:
        return torch.rand(shape, generator=gen) > 0.5
    if dtype.is_complex:
        return torch.randn(shape, dtype=dtype, generator=gen)
    if dtype.is_floating_point:
        return (torch.randn(shape, generator=gen) * 4).to(dtype)
    info = torch.iinfo(dtype)
    low, high = max(info.min, -(2**62)), min(info.max, 2**62)
    return torch.randint(low, high, shape, dtype=torch.int64, generator=gen).to(dtype)


def save(obj: object, path: Path, **kwargs: Any) -> Path:
    torch.save(obj, path, **kwargs)
    return path


def reference(path: Path) -> Any:
    return torch.load(path, weights_only=True)


FORMATS = [
    pytest.param({}, id="zip"),
    pytest.param({"_use_new_zipfile_serialization": False}, id="legacy"),
]


@pytest.mark.parametrize("kwargs", FORMATS)
@pytest.mark.parametrize("dtype_name", DTYPES)
def test_every_dtype_bit_for_bit(
    tmp_path: Path, dtype_name: str, kwargs: dict[str, Any]
) -> None:
    if (kwargs and dtype_name in ("uint16", "uint32", "uint64")) or (
        kwargs and dtype_name.startswith("float8")
    ):
        pytest.skip("torch.load cannot read these dtypes from the legacy format")
    tensor = sample(dtype_name)
    path = save({"t": tensor, "v": tensor[1:, 1::2]}, tmp_path / "x.pt", **kwargs)
    ours, theirs = et.load(path), reference(path)
    for key in ("t", "v"):
        assert_same_tensor(ours[key], theirs[key])
    assert ours["t"].storage is ours["v"].storage


@pytest.mark.parametrize("kwargs", FORMATS)
def test_views_strides_and_edge_shapes(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    base = torch.arange(60, dtype=torch.float32).reshape(3, 4, 5)
    obj = {
        "base": base,
        "t": base.transpose(0, 2),
        "p": base.permute(1, 2, 0),
        "s": base[1:, ::2, 3],
        "e": base[0, 0, 5:],
        "scalar": torch.tensor(2.5),
        "empty": torch.empty(0, 7),
        "expanded": torch.ones(1, 3).expand(4, 3),
        "other": torch.zeros(2, dtype=torch.int32),
    }
    path = save(obj, tmp_path / "x.pt", **kwargs)
    ours, theirs = et.load(path), reference(path)
    assert set(ours) == set(theirs)
    for key in obj:
        assert_same_tensor(ours[key], theirs[key])
    shared = [ours[k].numpy() for k in ("base", "t", "p", "s")]
    assert all(np.shares_memory(shared[0], a) for a in shared[1:])
    assert ours["scalar"].numpy().shape == ()


def test_zero_copy_memory_map(tmp_path: Path) -> None:
    path = save({"w": torch.randn(64, 64)}, tmp_path / "x.pt")
    array = et.load(path)["w"].numpy()
    assert not array.flags.writeable
    assert not array.flags.owndata
    root = array
    while isinstance(getattr(root, "base", None), np.ndarray):
        root = root.base
    assert isinstance(root.base, memoryview) or root.base is not None
    raw = path.read_bytes()
    assert raw.find(array.tobytes()) % 64 == 0  # aligned record, same bytes


@pytest.mark.parametrize("mmap", [True, False])
def test_sources(tmp_path: Path, mmap: bool) -> None:
    tensor = sample("float32")
    path = save({"t": tensor}, tmp_path / "x.pt")
    data = path.read_bytes()
    for source in (path, str(path), data, io.BytesIO(data)):
        assert_same_tensor(et.load(source, mmap=mmap)["t"], tensor)
    with open(path, "rb") as handle:
        assert_same_tensor(et.load(handle, mmap=mmap)["t"], tensor)


def test_state_dict_and_parameter(tmp_path: Path) -> None:
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2)
    )
    obj = {"sd": model.state_dict(), "p": torch.nn.Parameter(torch.randn(3))}
    obj["frozen"] = torch.nn.Parameter(torch.randn(2), requires_grad=False)
    path = save(obj, tmp_path / "x.pt")
    ours, theirs = et.load(path), reference(path)
    assert type(ours["sd"]) is OrderedDict
    assert list(ours["sd"]) == list(theirs["sd"])
    assert ours["sd"]._metadata == theirs["sd"]._metadata
    for key, value in theirs["sd"].items():
        assert_same_tensor(ours["sd"][key], value)
    assert ours["p"].is_parameter and ours["p"].requires_grad
    assert ours["frozen"].is_parameter and not ours["frozen"].requires_grad
    assert_same_tensor(ours["p"], theirs["p"])


def test_whole_module_generic(tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    path = save(model, tmp_path / "m.pt")
    with pytest.raises(emulpickle.ForbiddenGlobalError):
        et.load(path)
    loaded = et.load(path, unknown="generic")
    assert isinstance(loaded, emulpickle.GenericObject)
    assert loaded.cls.qualname == "torch.nn.modules.container.Sequential"
    linear = loaded.state["_modules"]["0"]
    weight = linear.state["_parameters"]["weight"]
    assert weight.is_parameter
    assert_same_tensor(weight, model[0].weight)


def test_training_checkpoint(tmp_path: Path) -> None:
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(8, 4)).sum().backward()
    opt.step()
    ckpt = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": np.int64(3),
        "best": np.float64(0.25),
        "flag": np.bool_(True),
        "args": argparse.Namespace(lr=1e-3, name="run"),
        "hist": np.arange(3, dtype=np.float32),
    }
    path = save(ckpt, tmp_path / "ckpt.pt")
    ours = et.load(path)
    theirs = torch.load(path, weights_only=False)
    assert ours["epoch"] == 3 and type(ours["epoch"]) is np.int64
    assert ours["best"] == 0.25 and ours["flag"]
    assert vars(ours["args"]) == {"lr": 1e-3, "name": "run"}
    assert np.array_equal(ours["hist"], ckpt["hist"])
    state = ours["optimizer"]["state"]
    for index, entry in theirs["optimizer"]["state"].items():
        for key, value in entry.items():
            assert_same_tensor(state[index][key], value)
    assert ours["optimizer"]["param_groups"] == theirs["optimizer"]["param_groups"]


def test_conj_and_neg_bits(tmp_path: Path) -> None:
    z = torch.randn(4, dtype=torch.complex64)
    obj = {"conj": z.conj(), "neg": torch._neg_view(torch.randn(3)), "plain": z}
    path = save(obj, tmp_path / "x.pt")
    ours, theirs = et.load(path), reference(path)
    assert ours["conj"].conj and not ours["plain"].conj and ours["neg"].neg
    for key in obj:
        assert_same_tensor(ours[key], theirs[key])


def test_big_endian_file_is_swapped(tmp_path: Path) -> None:
    obj = {name: sample(name) for name in ("float32", "float64", "int16", "complex64")}
    obj["bf"] = sample("bfloat16")
    obj["u16"] = sample("uint16")
    obj["view"] = obj["float64"].t()
    path = save(obj, tmp_path / "le.pt")
    unit_of = {
        value.storage.key: value.torch_dtype.swap_unit
        for value in et.load(path).values()
    }

    def swap(name: str, data: bytes) -> tuple[str, bytes, int]:
        if name.endswith("/byteorder"):
            return name, b"big", zipfile.ZIP_STORED
        if "/data/" in name:
            unit = unit_of[name.rsplit("/", 1)[1]]
            array = np.frombuffer(data, f"<u{unit}") if unit > 1 else None
            if array is not None:
                data = array.astype(f">u{unit}").tobytes()
        return name, data, zipfile.ZIP_STORED

    big = rewrite_zip(path, tmp_path / "be.pt", swap)
    ours = et.load(big)
    for key, tensor in obj.items():
        assert ours[key].storage.byteorder == "big"
        assert_same_tensor(ours[key], tensor)


def test_lenient_zip_variants(tmp_path: Path) -> None:
    tensor = sample("float32", (50, 50))
    path = save({"t": tensor}, tmp_path / "x.pt")

    def rename_and_deflate(name: str, data: bytes) -> tuple[str, bytes, int]:
        return "my model/" + name.split("/", 1)[1], data, zipfile.ZIP_DEFLATED

    deflated = rewrite_zip(path, tmp_path / "d.pt", rename_and_deflate)
    assert_same_tensor(et.load(deflated)["t"], tensor)
    with pytest.raises(et.TorchFormatError, match="inflate"):
        et.load(deflated, max_inflate=1000)

    # ZIP64 records, and a local header name that differs from the central one.
    with zipfile.ZipFile(path) as src:
        records = [(info.filename, src.read(info)) for info in src.infolist()]
    z64 = tmp_path / "z64.pt"
    with zipfile.ZipFile(z64, "w") as dst:
        for name, data in records:
            with dst.open(name, "w", force_zip64=True) as handle:
                handle.write(data)
    assert_same_tensor(et.load(z64)["t"], tensor)
    raw = bytearray(path.read_bytes())
    local = raw.find(b"x/data/0")
    raw[local : local + 8] = b"x/DATA/0"
    mangled = tmp_path / "m.pt"
    mangled.write_bytes(bytes(raw))
    assert_same_tensor(et.load(mangled)["t"], tensor)
    # A bad CRC is ignored, as torch does.
    crc = bytearray(path.read_bytes())
    struct.pack_into("<I", crc, 14, 0xDEADBEEF)
    (tmp_path / "crc.pt").write_bytes(bytes(crc))
    assert "t" in et.load(tmp_path / "crc.pt")


def test_raw_pickle_and_plugin_entry_point(tmp_path: Path) -> None:
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"a": [1, 2], "o": OrderedDict(b=2)}, protocol=4))
    assert et.load(path) == {"a": [1, 2], "o": OrderedDict(b=2)}
    registry = emulpickle.Registry.with_plugins("torch")
    assert registry.resolve("torch._utils", "_rebuild_tensor_v2") is not None
    tensor = sample("int32")
    saved = save({"t": tensor}, tmp_path / "x.pt")
    assert_same_tensor(et.load(saved, registry=registry)["t"], tensor)
    custom = emulpickle.Registry(parent=emulpickle.default_registry())
    assert_same_tensor(et.load(saved, registry=custom)["t"], tensor)


def test_lazy_until_asked(tmp_path: Path) -> None:
    path = save({"t": sample("float32")}, tmp_path / "x.pt")
    with open(path, "rb") as handle:
        loaded = et.load(handle, mmap=False)
    tensor = loaded["t"]
    assert tensor.storage._buffer is None
    with pytest.raises(ValueError):
        tensor.numpy()  # the file object is closed; nothing was read before
