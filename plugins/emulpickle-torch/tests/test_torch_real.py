"""Real tensors: ``load(tensors="torch")`` and the drop-in ``torch_load``.

Every checkpoint here is written by torch.save in the test, and what the
drop-in returns is compared with what ``torch.load(weights_only=True)``
returns: structure, types, dtype, shape, stride, offset, requires_grad,
Parameter-ness, the bits of every element and which tensors share memory.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import emulpickle_torch as et
import numpy as np
import pytest
from real_compare import assert_same, assert_same_sharing
from torch_ckpt_helpers import TORCH_REASON

torch = pytest.importorskip("torch", reason=TORCH_REASON)


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore")


ALL_DTYPES = [
    "float64", "float32", "float16", "bfloat16", "int64", "int32", "int16",
    "int8", "uint8", "uint16", "uint32", "uint64", "bool", "complex128",
    "complex64", "complex32", "float8_e4m3fn", "float8_e5m2",
    "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
]  # fmt: skip


def _every_dtype() -> dict[str, Any]:
    generator = torch.Generator().manual_seed(0)
    out: dict[str, Any] = {}
    for name in ALL_DTYPES:
        raw = torch.randint(0, 256, (3, 5 * 16), dtype=torch.uint8, generator=generator)
        dtype = getattr(torch, name)
        out[name] = raw.view(dtype) if dtype != torch.bool else raw.bool()
    return out


def _models() -> dict[str, Any]:
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8)
    )
    conv = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.LayerNorm(2)
    )
    # Tied weights: an embedding and its output projection.
    embedding = torch.nn.Embedding(10, 8)
    head = torch.nn.Linear(8, 10, bias=False)
    head.weight = embedding.weight
    tied = torch.nn.ModuleDict({"embed": embedding, "head": head})
    return {"mlp": mlp, "conv": conv, "tied": tied}


def _optimizer_state() -> dict[str, Any]:
    torch.manual_seed(1)
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 2)
    model(torch.randn(3, 4)).sum().backward()
    optimizer.step()
    scheduler.step()
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": 3,
    }


def _views() -> dict[str, Any]:
    base = torch.arange(60, dtype=torch.float32).reshape(6, 10)
    return {
        "base": base,
        "t": base.t(),
        "slice": base[1:4, 2:9:3],
        "row": base[5],
        "flat": base.view(-1)[7:],
        "expanded": torch.ones(3).expand(4, 3),
        "param": torch.nn.Parameter(torch.randn(2, 3)),
        "frozen": torch.nn.Parameter(torch.randn(2), requires_grad=False),
        "grad": torch.randn(3, requires_grad=True),
        "empty": torch.empty(0, 4),
        "scalar": torch.tensor(2.5),
        "conj": torch.randn(3, dtype=torch.complex64).conj(),
        "neg": torch.randn(3, dtype=torch.complex64)._neg_view(),
        "dtype": torch.float16,
        "device": torch.device("cpu"),
        "size": [1, 2],
    }


def _corpus() -> dict[str, Any]:
    models = {name: model.state_dict() for name, model in _models().items()}
    return {
        "every_dtype": _every_dtype(),
        "optimizer": _optimizer_state(),
        "views": _views(),
        **models,
    }


def _save(obj: Any, path: Path, **kwargs: Any) -> Path:
    torch.save(obj, path, **kwargs)
    return path


def _compare(path: Path, **load: Any) -> Any:
    ours = et.torch_load(path, **load)
    theirs = torch.load(path, weights_only=True, **load)
    ptrs: list[tuple[str, int, int]] = []
    assert_same(ours, theirs, ptrs=ptrs)
    assert_same_sharing(ptrs)
    return ours


@pytest.mark.parametrize("name", sorted(_corpus()))
@pytest.mark.parametrize(
    "save",
    [
        {},
        {"pickle_protocol": 2},
        {"_use_new_zipfile_serialization": False},
        {"_use_new_zipfile_serialization": False, "pickle_protocol": 2},
    ],
    ids=["zip", "zip-p2", "legacy", "legacy-p2"],
)
def test_same_as_torch_load(tmp_path: Path, name: str, save: dict[str, Any]) -> None:
    obj = _corpus()[name]
    path = _save(obj, tmp_path / "ckpt.pt", **save)
    if name == "every_dtype" and "_use_new_zipfile_serialization" in save:
        # torch 2.13 saves uint16 and float8 tensors in the legacy format but
        # cannot load them back (AttributeError: UntypedStorage has no dtype);
        # the drop-in loads what was saved.
        with pytest.raises(AttributeError):
            torch.load(path, weights_only=True)
        assert_same(et.torch_load(path), obj)
        return
    _compare(path)
    _compare(path, map_location="cpu")


@pytest.mark.parametrize("protocol", [4, 5])
@pytest.mark.parametrize("legacy", [False, True])
def test_protocols_torch_refuses(tmp_path: Path, protocol: int, legacy: bool) -> None:
    """Files torch's weights-only unpickler refuses (FRAME): compared with the
    full unpickler, which the test trusts since it wrote them."""
    corpus = _corpus()
    obj = {"views": corpus["views"], "tied": corpus["tied"]}
    path = _save(
        obj,
        tmp_path / "p.pt",
        pickle_protocol=protocol,
        _use_new_zipfile_serialization=not legacy,
    )
    ours = et.torch_load(path)
    theirs = torch.load(path, weights_only=False)
    ptrs: list[tuple[str, int, int]] = []
    assert_same(ours, theirs, ptrs=ptrs)
    assert_same_sharing(ptrs)


def test_tied_weights_share_memory(tmp_path: Path) -> None:
    path = _save(_models()["tied"].state_dict(), tmp_path / "tied.pt")
    state = et.torch_load(path)
    embed, head = state["embed.weight"], state["head.weight"]
    assert embed.untyped_storage().data_ptr() == head.untyped_storage().data_ptr()
    embed[0, 0] = 123.0
    assert head[0, 0] == 123.0


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("how", ["drop-in", "load"])
def test_writable_and_file_untouched(tmp_path: Path, legacy: bool, how: str) -> None:
    path = _save(_views(), tmp_path / "w.pt", _use_new_zipfile_serialization=not legacy)
    before = _digest(path)
    state = et.torch_load(path) if how == "drop-in" else et.load(path, tensors="torch")
    for value in state.values():
        if isinstance(value, torch.Tensor) and value.numel():
            with torch.no_grad():
                value.zero_()
    assert float(state["base"].abs().sum()) == 0.0
    assert _digest(path) == before
    again = torch.load(path, weights_only=True)
    assert float(again["base"].sum()) == float(torch.arange(60.0).sum())


def test_zero_copy_from_the_map(tmp_path: Path) -> None:
    """Storages are slices of one map of the file: the distance between two
    tensors' data in memory is the distance between their bytes in the file."""
    a = torch.full((1000,), 1.5)
    b = torch.full((1000,), -7.25, dtype=torch.float64)
    path = _save({"a": a, "b": b}, tmp_path / "z.pt")
    data = path.read_bytes()
    state = et.torch_load(path)
    distance = state["b"].data_ptr() - state["a"].data_ptr()
    assert distance == data.find(b.numpy().tobytes()) - data.find(a.numpy().tobytes())


def test_misaligned_legacy_storage_is_copied(tmp_path: Path) -> None:
    """Legacy files put storages at any offset; a float64 storage at an offset
    that is not a multiple of 8 is copied (aligned), the others are mapped."""
    state = {"x": torch.arange(5, dtype=torch.float64)}
    for pad in range(8):
        state["pad"] = "p" * pad
        path = tmp_path / f"m{pad}.pt"
        _save(state, path, _use_new_zipfile_serialization=False)
        loaded = et.torch_load(path)
        assert loaded["x"].data_ptr() % 8 == 0
        assert torch.equal(loaded["x"], state["x"])


@pytest.mark.parametrize(
    "opener",
    ["str", "path", "file", "unseekable", "bytesio", "bytes"],
)
def test_sources(tmp_path: Path, opener: str) -> None:
    path = _save(_corpus()["views"], tmp_path / "s.pt")
    data = path.read_bytes()
    theirs = torch.load(path, weights_only=True)

    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    if opener == "file":
        with open(path, "rb") as handle:
            ours = et.torch_load(handle)
    else:
        source = {
            "str": str(path),
            "path": path,
            "unseekable": Unseekable(),
            "bytesio": io.BytesIO(data),
            "bytes": data,
        }[opener]
        ours = et.torch_load(source)
    assert_same(ours, theirs)
    if opener == "bytesio":  # the caller's buffer is not written through
        ours["base"].zero_()
        assert source.getvalue() == data  # type: ignore[union-attr]


def test_mmap_false_copies(tmp_path: Path) -> None:
    path = _save(_views(), tmp_path / "c.pt")
    ours = et.torch_load(path, mmap=False)
    assert_same(ours, torch.load(path, weights_only=True))


def _cuda_checkpoint(tmp_path: Path) -> Path:
    """A checkpoint whose storages say ``cuda:0``: torch.save on a CPU-only
    machine, then the location string patched in data.pkl (``cpu`` and
    ``cuda:0`` are both short BINUNICODE strings: the length byte changes)."""
    from torch_ckpt_helpers import rewrite_zip

    source = _save(
        {"w": torch.arange(6.0).reshape(2, 3), "b": torch.ones(2)}, tmp_path / "c.pt"
    )

    def change(name: str, data: bytes) -> tuple[str, bytes, int]:
        if name.endswith("data.pkl"):
            assert b"X\x03\x00\x00\x00cpu" in data
            data = data.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
        return name, data, 0

    return rewrite_zip(source, tmp_path / "cuda.pt", change)


def test_map_location_forms(tmp_path: Path) -> None:
    path = _save(_corpus()["views"], tmp_path / "m.pt")
    for location in ["cpu", torch.device("cpu"), {"cpu": "cpu"}]:
        _compare(path, map_location=location)
    # torch.load fails on a bytes map_location (a str pattern meets bytes);
    # the drop-in reads it as the string.
    assert_same(et.torch_load(path, map_location=b"cpu"), et.torch_load(path))
    meta = _compare(path, map_location="meta")
    assert meta["base"].device.type == "meta"
    assert _compare(path, map_location=torch.device("meta"))["t"].is_meta

    seen: list[tuple[Any, str]] = []

    def record(storage: Any, location: str) -> Any:
        seen.append((type(storage), location))
        return storage if len(seen) % 2 else None

    ours = et.torch_load(path, map_location=record)
    assert {location for _, location in seen} == {"cpu"}
    assert all(kind is torch.UntypedStorage for kind, _ in seen)
    assert_same(ours, torch.load(path, weights_only=True))


def test_map_location_cuda_checkpoint(tmp_path: Path) -> None:
    path = _cuda_checkpoint(tmp_path)
    for location in [{"cuda:0": "cpu"}, "cpu", lambda s, loc: s]:
        _compare(path, map_location=location)
    # Without a map, both refuse to place storages on a missing GPU.
    with pytest.raises(RuntimeError) as theirs:
        torch.load(path, weights_only=True)
    with pytest.raises(RuntimeError) as ours:
        et.torch_load(path)
    assert "CUDA" in str(theirs.value) and "CUDA" in str(ours.value)


def test_what_torch_refuses(tmp_path: Path) -> None:
    obj = {
        "array": np.arange(6, dtype=np.float32).reshape(2, 3),
        "scalar": np.float64(0.5),
        "args": argparse.Namespace(lr=0.1, layers=[1, 2], w=torch.ones(2)),
        "weights": torch.ones(3),
    }
    path = _save(obj, tmp_path / "np.pt")
    with pytest.raises(Exception, match=r"(?i)weights only load failed"):
        torch.load(path, weights_only=True)
    ours = et.torch_load(path)
    assert type(ours["array"]) is np.ndarray
    assert np.array_equal(ours["array"], obj["array"])
    assert type(ours["scalar"]) is np.float64 and ours["scalar"] == 0.5
    assert type(ours["args"]) is argparse.Namespace
    assert ours["args"].lr == 0.1 and ours["args"].layers == [1, 2]
    assert type(ours["args"].w) is torch.Tensor
    assert type(ours["weights"]) is torch.Tensor


def test_state_dict_metadata_and_load_state_dict(tmp_path: Path) -> None:
    model = _models()["conv"]
    path = _save(model.state_dict(), tmp_path / "sd.pt")
    state = et.torch_load(path)
    assert isinstance(state, OrderedDict)
    assert state._metadata == model.state_dict()._metadata
    fresh = _models()["conv"]
    fresh.load_state_dict(state)


def test_unknown_class_per_unknown(tmp_path: Path) -> None:
    path = _save({"w": torch.ones(2), "cfg": _Config(3)}, tmp_path / "u.pt")
    import emulpickle

    with pytest.raises(emulpickle.ForbiddenGlobalError):
        et.torch_load(path)
    with pytest.raises(emulpickle.ForbiddenGlobalError):
        et.torch_load(path, weights_only=False)  # still runs nothing
    ours = et.torch_load(path, unknown="generic")
    assert isinstance(ours["cfg"], emulpickle.GenericObject)
    assert type(ours["w"]) is torch.Tensor


class _Config:
    def __init__(self, n: int) -> None:
        self.n = n


def test_kwargs(tmp_path: Path) -> None:
    import pickle

    path = _save({"x": torch.ones(1)}, tmp_path / "k.pt")
    assert et.torch_load(path, pickle_module=pickle)["x"].item() == 1.0
    assert et.torch_load(path, encoding="latin1")["x"].item() == 1.0
    args = {"encoding": "bytes"}
    assert et.torch_load(path, pickle_load_args=args)["x"].item() == 1.0
    with pytest.raises(TypeError, match="pickle module"):
        et.torch_load(path, pickle_module=object())
    with pytest.raises(TypeError, match="unsupported keyword"):
        et.torch_load(path, bogus=1)
    with pytest.raises(TypeError, match="map_location"):
        et.torch_load(path, map_location=3)
    with pytest.raises(ValueError, match="tensors"):
        et.load(path, tensors="numpy")  # type: ignore[arg-type]


def test_load_tensors_torch_keeps_cpu(tmp_path: Path) -> None:
    """``load(tensors="torch")`` places every storage on the CPU."""
    path = _cuda_checkpoint(tmp_path)
    state = et.load(path, tensors="torch")
    assert state["w"].device.type == "cpu"
    assert torch.equal(state["w"], torch.arange(6.0).reshape(2, 3))
