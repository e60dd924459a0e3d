"""The drop-in ``emulpickle_torch.torch_load`` proved with real consumers.

Each test saves with ``torch.save`` (zip and legacy containers, pickle
protocols 2, 4 and 5), loads the file with ``torch.load`` and with the
drop-in, and feeds both to what a training script feeds them to:
``load_state_dict`` of real models, optimizers, LR schedulers, a GradScaler
and the RNGs. The two must agree bit for bit. ``torch.load`` reads protocol 4
and 5 files only with ``weights_only=False`` ("Unsupported operand 149"): the
reference uses it there, on files these tests wrote.
"""

from __future__ import annotations

import io
import pickle
import random
import tarfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import emulpickle_torch as et
import numpy as np
import pytest
from torch_ckpt_helpers import TORCH_REASON, tar_checkpoint
from torch_dropin_helpers import (
    FORMAT_IDS,
    SAVE_FORMATS,
    assert_same_load,
    assert_same_tree,
    digest,
    sharing,
    torch_save,
)
from torch_tar_fixture import TENSORS, members

torch = pytest.importorskip("torch", reason=TORCH_REASON)
nn = torch.nn

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def reference(path: Path, protocol: int) -> Any:
    """What torch.load gives: weights-only, unless torch refuses the protocol."""
    if protocol < 4:
        return torch.load(path, weights_only=True)
    with pytest.raises(pickle.UnpicklingError, match="Unsupported operand 149"):
        torch.load(path, weights_only=True)
    return torch.load(path, weights_only=False)  # a file this test wrote


# ------------------------------------------------------------------ models


class SmallCNN(nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Linear(4 * 6 * 6, 5)

    def forward(self, x: Any) -> Any:
        return self.head(torch.relu(self.bn(self.conv(x))).flatten(1))


class LSTMTagger(nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(6, 10, num_layers=2, batch_first=True)
        self.out = nn.Linear(10, 3)

    def forward(self, x: Any) -> Any:
        seq, (h, c) = self.lstm(x)
        return self.out(seq), h, c


class TiedLM(nn.Module):  # type: ignore[misc]
    """An embedding and an output layer sharing one weight, as GPT-2 does."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.mid = nn.Linear(8, 8)
        self.head = nn.Linear(8, 20, bias=False)
        self.head.weight = self.emb.weight

    def forward(self, x: Any) -> Any:
        return self.head(torch.tanh(self.mid(self.emb(x))))


MODELS: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
    "mlp": (
        lambda: nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 4)),
        lambda: torch.randn(5, 8),
    ),
    "cnn-batchnorm": (SmallCNN, lambda: torch.randn(4, 3, 6, 6)),
    "transformer": (
        lambda: nn.TransformerEncoderLayer(
            16, 2, dim_feedforward=32, dropout=0.0, batch_first=True
        ),
        lambda: torch.randn(2, 5, 16),
    ),
    "lstm": (LSTMTagger, lambda: torch.randn(3, 4, 6)),
    "tied": (TiedLM, lambda: torch.randint(0, 20, (4, 7))),
}


def outputs(model: Any, x: Any) -> list[Any]:
    model.eval()
    with torch.no_grad():
        out = model(x)
    return list(out) if isinstance(out, tuple) else [out]


def trained(name: str) -> Any:
    """A model after one training step: BatchNorm buffers and counts moved."""
    build, make_input = MODELS[name]
    torch.manual_seed(0)
    model = build()
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    out = model(make_input())
    parts = out if isinstance(out, tuple) else [out]
    loss = sum(part.float().pow(2).mean() for part in parts)
    loss.backward()
    optimizer.step()
    return model


@pytest.mark.parametrize("fmt", SAVE_FORMATS, ids=FORMAT_IDS)
@pytest.mark.parametrize("name", list(MODELS))
def test_load_state_dict_gives_the_same_outputs(
    tmp_path: Path, name: str, fmt: tuple[str, int]
) -> None:
    path = torch_save(trained(name).state_dict(), tmp_path / "model.pt", fmt)
    before = digest(path)
    theirs = reference(path, fmt[1])
    ours = et.torch_load(path)
    assert_same_load(ours, theirs)

    build, make_input = MODELS[name]
    torch.manual_seed(1)
    x = make_input()
    results = []
    for state in (theirs, ours):
        torch.manual_seed(2)  # fresh weights, unlike the saved ones
        model = build()
        assert model.load_state_dict(state) is not None
        results.append(outputs(model, x))
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b)
    # A fresh model gives other outputs: the comparison above can fail.
    torch.manual_seed(2)
    assert not torch.equal(outputs(build(), x)[0], results[0][0])
    assert digest(path) == before


@pytest.mark.parametrize("fmt", SAVE_FORMATS, ids=FORMAT_IDS)
def test_batchnorm_buffers_and_counts(tmp_path: Path, fmt: tuple[str, int]) -> None:
    path = torch_save(trained("cnn-batchnorm").state_dict(), tmp_path / "m.pt", fmt)
    ours = et.torch_load(path)
    count = ours["bn.num_batches_tracked"]
    assert count.dtype == torch.int64 and count.shape == () and int(count) == 1
    assert not torch.equal(ours["bn.running_mean"], torch.zeros(4))
    assert ours._metadata["bn"]["version"] == 2  # BatchNorm's state dict version


@pytest.mark.parametrize("fmt", SAVE_FORMATS, ids=FORMAT_IDS)
def test_tied_weights_share_memory(tmp_path: Path, fmt: tuple[str, int]) -> None:
    path = torch_save(trained("tied").state_dict(), tmp_path / "tied.pt", fmt)
    before = digest(path)
    theirs = reference(path, fmt[1])
    ours = et.torch_load(path)
    storages, _ = sharing(theirs)
    assert storages == [["root['emb.weight']", "root['head.weight']"]]
    assert sharing(ours) == sharing(theirs)
    for state in (theirs, ours):
        state["emb.weight"].add_(1.0)  # writes through to the tied tensor
        assert torch.equal(state["emb.weight"], state["head.weight"])
    assert torch.equal(ours["head.weight"], theirs["head.weight"])
    assert digest(path) == before  # copy-on-write: the file never changes


@pytest.mark.parametrize(
    "source",
    ["path", "str", "file", "bytesio"],
)
@pytest.mark.parametrize(
    "map_location",
    [None, "cpu", "device", "dict", "callable"],
)
def test_sources_and_map_locations(
    tmp_path: Path, source: str, map_location: str
) -> None:
    path = torch_save(trained("mlp").state_dict(), tmp_path / "m.pt", ("zip", 2))
    locations: dict[str | None, Any] = {
        None: None,
        "cpu": "cpu",
        "device": torch.device("cpu"),
        "dict": {"cpu": "cpu"},
        "callable": lambda storage, location: storage,
    }
    location = locations[map_location]

    def load(loader: Callable[..., Any]) -> Any:
        if source == "path":
            return loader(path, map_location=location)
        if source == "str":
            return loader(str(path), map_location=location)
        if source == "bytesio":
            return loader(io.BytesIO(path.read_bytes()), map_location=location)
        with open(path, "rb") as handle:
            return loader(handle, map_location=location)

    assert_same_load(load(et.torch_load), load(torch.load))


def test_mmap_true_matches_torch(tmp_path: Path) -> None:
    path = torch_save(trained("tied").state_dict(), tmp_path / "m.pt", ("zip", 2))
    before = digest(path)
    theirs = torch.load(path, mmap=True, weights_only=True)
    ours = et.torch_load(path, mmap=True)
    assert_same_load(ours, theirs)
    ours["mid.weight"].zero_()  # writable, and the file stays as it was
    assert digest(path) == before


# ------------------------------------------------- optimizers and schedulers

OPTIMIZERS: dict[str, Callable[[Any], Any]] = {
    "adam": lambda params: torch.optim.Adam(params, lr=1e-2, weight_decay=1e-3),
    "sgd-momentum": lambda params: torch.optim.SGD(
        params, lr=0.05, momentum=0.9, nesterov=True
    ),
}
SCHEDULERS: dict[str, Callable[[Any], Any]] = {
    "steplr": lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5),
    "onecycle": lambda opt: torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=0.1, total_steps=10
    ),
}


def batch(step: int) -> tuple[Any, Any]:
    gen = torch.Generator().manual_seed(100 + step)
    return torch.randn(6, 8, generator=gen), torch.randn(6, 4, generator=gen)


def training(opt_name: str, sched_name: str, seed: int) -> tuple[Any, Any, Any]:
    torch.manual_seed(seed)
    model = MODELS["mlp"][0]()
    optimizer = OPTIMIZERS[opt_name](model.parameters())
    return model, optimizer, SCHEDULERS[sched_name](optimizer)


def train_step(run: tuple[Any, Any, Any], step: int) -> None:
    model, optimizer, scheduler = run
    x, y = batch(step)
    optimizer.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    optimizer.step()
    scheduler.step()


def checkpoint(run: tuple[Any, Any, Any]) -> dict[str, Any]:
    model, optimizer, scheduler = run
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": 3,
    }


def resumed(
    state: dict[str, Any], opt_name: str, sched_name: str
) -> tuple[Any, Any, Any]:
    run = training(opt_name, sched_name, seed=1)
    model, optimizer, scheduler = run
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    train_step(run, 3)
    return run


@pytest.mark.parametrize("fmt", SAVE_FORMATS, ids=FORMAT_IDS)
@pytest.mark.parametrize("sched_name", list(SCHEDULERS))
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_resumed_training_takes_the_same_step(
    tmp_path: Path, opt_name: str, sched_name: str, fmt: tuple[str, int]
) -> None:
    original = training(opt_name, sched_name, seed=0)
    for step in range(3):
        train_step(original, step)
    path = torch_save(checkpoint(original), tmp_path / "ckpt.pt", fmt)
    before = digest(path)
    theirs = reference(path, fmt[1])
    ours = et.torch_load(path)
    assert_same_load(ours, theirs)

    from_torch = resumed(theirs, opt_name, sched_name)
    from_ours = resumed(ours, opt_name, sched_name)  # steps in the loaded tensors
    train_step(original, 3)  # and the run that never stopped
    for run in (from_torch, from_ours):
        for a, b in zip(run[0].parameters(), original[0].parameters(), strict=True):
            assert torch.equal(a, b)
        assert_same_tree(run[1].state_dict(), original[1].state_dict())
        assert run[2].get_last_lr() == original[2].get_last_lr()
    assert digest(path) == before


# --------------------------------------------------------- GradScaler, RNGs


@pytest.mark.parametrize("fmt", SAVE_FORMATS, ids=FORMAT_IDS)
def test_grad_scaler_restores(tmp_path: Path, fmt: tuple[str, int]) -> None:
    def run(scaler: Any, steps: range) -> Any:
        torch.manual_seed(0)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for step in steps:
            optimizer.zero_grad()
            x = torch.full((2, 4), float("inf") if step == 1 else 1.0)
            scaler.scale(model(x).sum()).backward()
            scaler.step(optimizer)  # skipped when the grads are not finite
            scaler.update()
        return scaler

    def scaler() -> Any:
        return torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=3)

    saved = run(scaler(), range(4)).state_dict()
    assert saved["scale"] == 2.0**9 and saved["_growth_tracker"] == 2  # backed off
    path = torch_save({"scaler": saved}, tmp_path / "scaler.pt", fmt)
    theirs, ours = reference(path, fmt[1]), et.torch_load(path)
    assert_same_tree(ours, theirs)
    resumed_scalers = []
    for state in (theirs, ours):
        restored = scaler()
        restored.load_state_dict(state["scaler"])
        resumed_scalers.append(run(restored, range(4, 7)))
    expected = run(scaler(), range(7))
    for restored in resumed_scalers:
        assert restored.state_dict() == expected.state_dict()


@pytest.mark.parametrize("fmt", SAVE_FORMATS, ids=FORMAT_IDS)
def test_rng_states_restore(tmp_path: Path, fmt: tuple[str, int]) -> None:
    torch.manual_seed(3)
    np.random.seed(3)
    random.seed(3)
    np.random.standard_normal()  # a cached gaussian in numpy's state
    states = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    expected = (torch.rand(3), np.random.standard_normal(3), random.random())
    path = torch_save({"rng": states}, tmp_path / "rng.pt", fmt)
    # numpy's state holds an ndarray (numpy's _reconstruct): weights-only refuses.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    theirs = torch.load(path, weights_only=False)  # a file this test wrote
    ours = et.torch_load(path)
    assert_same_tree(ours, theirs)
    assert isinstance(ours["rng"]["numpy"][1], np.ndarray)

    torch.manual_seed(99)
    np.random.seed(99)
    random.seed(99)
    torch.set_rng_state(ours["rng"]["torch"])
    np.random.set_state(ours["rng"]["numpy"])
    random.setstate(ours["rng"]["python"])
    draws = (torch.rand(3), np.random.standard_normal(3), random.random())
    assert torch.equal(draws[0], expected[0])
    assert np.array_equal(draws[1], expected[1])
    assert draws[2] == expected[2]


# ------------------------------------------------------- legacy tar format


@pytest.mark.parametrize("tar_format", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_legacy_tar_fixture(tmp_path: Path, tar_format: int) -> None:
    path = tmp_path / "old.pt"
    path.write_bytes(tar_checkpoint(members(), tar_format=tar_format))
    before = digest(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.load(path, weights_only=False)  # torch reads tar only so
    ours = et.torch_load(path)
    tensors = [*TENSORS, "again"]
    assert_same_load({k: ours[k] for k in tensors}, {k: theirs[k] for k in tensors})
    assert ours["again"] is ours["w"]
    assert ours["epoch"] == theirs["epoch"] == 3
    assert ours["storage"].tolist() == theirs["storage"].tolist()
    assert ours["storage"].dtype == theirs["storage"].dtype == torch.float64
    ours["w"].zero_()
    assert ours["wt"].abs().sum() == 0  # a view of the same storage
    assert digest(path) == before
