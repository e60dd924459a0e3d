"""Whole-model saves: ``emulpickle_torch.state_dict`` and the module repr.

Real models are written with ``torch.save(model)`` and read back with
``emulpickle_torch.load(..., unknown="generic")``; what the plugin names is
compared with what torch's own ``model.state_dict()`` names, in order, and
the tensors with torch's. Hostile module trees (a cycle, 2**40 paths, a
chain 50,000 deep, a million children) run in a child process: the repr
stays within its budget, ``state_dict`` refuses what torch could not name
(a cycle) or would name without end (2**40 paths; a chain whose names grow
quadratically).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import emulpickle_torch
import numpy as np
import pytest
from emulpickle_torch import cli_support
from helpers.render_harness import Case, check_case, pickle_of, run_cases, short_str
from torch_ckpt_helpers import TORCH_REASON

import emulpickle

torch = pytest.importorskip("torch", reason=TORCH_REASON)
nn = torch.nn


class WithBuffers(nn.Module):
    """Persistent and non-persistent buffers, None entries, a ModuleList and a
    submodule reached through two paths."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("kept", torch.arange(3.0))
        self.register_buffer("scratch", torch.zeros(2), persistent=False)
        self.register_buffer("absent", None)
        self.scale = nn.Parameter(torch.ones(1))
        self.register_parameter("unused", None)
        shared = nn.Linear(2, 2, bias=False)
        self.blocks = nn.ModuleList([shared, nn.BatchNorm1d(2), shared])
        self.tied = shared
        self.register_module("nothing", None)


MODELS: dict[str, Any] = {
    "sequential": lambda: nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1)),
    "batchnorm": lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)),
    "encoder-layer": lambda: nn.TransformerEncoderLayer(8, 2, 16),
    "buffers": WithBuffers,
}


def _roundtrip(tmp_path: Path, model: Any) -> Any:
    path = tmp_path / "model.pt"
    torch.save(model, path)
    return emulpickle_torch.load(path, unknown="generic")


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_state_dict_names_as_torch(tmp_path: Path, kind: str) -> None:
    torch.manual_seed(0)
    model = MODELS[kind]()
    loaded = _roundtrip(tmp_path, model)
    assert emulpickle_torch.is_module(loaded)
    names = emulpickle_torch.state_dict(loaded)
    expected = model.state_dict()
    assert list(names) == list(expected)
    for name, tensor in expected.items():
        got = names[name]
        assert isinstance(got, emulpickle_torch.Tensor), name
        assert got.dtype == str(tensor.dtype).removeprefix("torch."), name
        np.testing.assert_array_equal(got.numpy(), tensor.numpy(), err_msg=name)
    # The CLI's picker names them the same way (one implementation).
    assert list(cli_support.pick_state_dict(loaded).tensors) == list(expected)


def test_state_dict_of_a_module_inside_a_checkpoint(tmp_path: Path) -> None:
    model = WithBuffers()
    loaded = _roundtrip(tmp_path, {"epoch": 1, "model": model})
    assert list(emulpickle_torch.state_dict(loaded["model"])) == list(
        model.state_dict()
    )
    assert "scratch" not in emulpickle_torch.state_dict(loaded["model"])
    with pytest.raises(TypeError, match=r"not a pickled nn\.Module"):
        emulpickle_torch.state_dict(loaded)


SEQUENTIAL_REPR = """\
Sequential(
  (0): Linear(in_features=3, out_features=2)
  (1): ReLU(inplace=False)
  (2): Sequential(
    (0): BatchNorm1d(num_features=2, eps=1e-05, momentum=0.1, affine=True, \
track_running_stats=True)
  )
)"""


def test_repr_reads_like_torch(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Sequential(nn.BatchNorm1d(2)))
    assert repr(_roundtrip(tmp_path, model)) == SEQUENTIAL_REPR
    # Two levels down (a list in a dict), every line is indented twice more.
    loaded = _roundtrip(tmp_path, {"m": [model]})
    outer = emulpickle.bounded_repr(loaded, max_chars=900)
    assert outer.startswith("{'m': [Sequential(\n      (0): Linear(in_features=3, ")
    assert outer.endswith("\n      )\n    )]}")


def test_repr_of_a_big_model_is_bounded(tmp_path: Path) -> None:
    model = nn.Transformer(
        d_model=16, nhead=2, num_encoder_layers=6, num_decoder_layers=6
    )
    text = repr(_roundtrip(tmp_path, model))
    lines = text.splitlines()
    assert len(text) <= emulpickle.generic.REPR_MAX_CHARS
    assert lines[0] == "Transformer("
    assert lines[2] == "  (encoder): TransformerEncoder("
    assert max(len(line) for line in lines) < 300
    # An activation function (a global) reads as its name in every layer.
    assert "activation=<shared" not in text


# ------------------------------------------------------------- hostile

NEWOBJ, SETITEM, BUILD, EMPTY_DICT = b"\x81", b"s", b"b", b"}"
#: The class of every module below, memoized in slot 0 ("m.M").
CLASS = short_str("m") + short_str("M") + b"\x93\x94"


def _module_head(memoize: bool = False) -> bytes:
    """A new ``m.M`` object (memoized if asked), its state dict begun with a
    parameter ``w``, empty buffers and an empty ``_modules`` dict on the
    stack."""
    get_class = b"h\x00"
    return (
        get_class
        + b")"
        + NEWOBJ
        + (b"\x94" if memoize else b"")
        + EMPTY_DICT
        + short_str("_parameters")
        + EMPTY_DICT
        + short_str("w")
        + b"K\x01"  # a parameter (any non-None value counts)
        + SETITEM
        + SETITEM
        + short_str("_buffers")
        + EMPTY_DICT
        + SETITEM
        + short_str("_modules")
        + EMPTY_DICT
    )


#: Closes what _module_head opened: _modules into the state, BUILD.
_MODULE_TAIL = SETITEM + BUILD


def _chain(depth: int) -> bytes:
    """Modules nested ``depth`` deep, each the child "a" of the one above."""
    step = _module_head() + short_str("a")
    leaf = _module_head() + _MODULE_TAIL
    close = SETITEM + _MODULE_TAIL
    return pickle_of(CLASS + step * depth + leaf + close * depth)


def _dag(levels: int) -> bytes:
    """``m = M(a=m, b=m)`` ``levels`` times: 2**levels paths to the leaf."""
    memo = 1
    body = CLASS + _module_head() + _MODULE_TAIL + b"\x94"  # leaf, slot 1
    for _ in range(levels):
        child = b"h" + bytes([memo])
        body += (
            _module_head()
            + short_str("a")
            + child
            + SETITEM
            + short_str("b")
            + child
            + SETITEM
            + _MODULE_TAIL
            + b"\x94"
        )
        memo += 1
    return pickle_of(body)


def _cycle() -> bytes:
    """A module whose child "self" is itself."""
    return pickle_of(
        CLASS
        + _module_head(memoize=True)  # slot 1
        + short_str("self")
        + b"h\x01"
        + SETITEM
        + _MODULE_TAIL
    )


def _wide(children: int) -> bytes:
    """A module with ``children`` children, all one shared leaf module."""
    leaf = _module_head() + _MODULE_TAIL + b"\x94"  # slot 1
    items = b"".join(short_str(str(i)) + b"h\x01" + SETITEM for i in range(children))
    return pickle_of(CLASS + leaf + b"0" + _module_head() + items + _MODULE_TAIL)


SETUP = r"""
import emulpickle, emulpickle_torch

def load(path):
    with open(path, "rb") as f:
        return emulpickle.load(f, unknown="generic")

ACTIONS = {
    "repr": lambda path: repr(load(path)),
    "state_dict": lambda path: str(sorted(emulpickle_torch.state_dict(load(path)))[:5]),
}
"""


def test_hostile_module_trees_stay_bounded(tmp_path: Path) -> None:
    limit = emulpickle.generic.REPR_MAX_CHARS
    cases = {
        "chain-repr": Case(_chain(50_000), "repr", "text", "M(\n  (a): M(", limit),
        "chain-names": Case(_chain(50_000), "state_dict", "error", "too large"),
        "dag-repr": Case(_dag(40), "repr", "text", "<shared GenericObject>", limit),
        "dag-names": Case(_dag(40), "state_dict", "error", "too large"),
        "cycle-repr": Case(_cycle(), "repr", "text", "(self): <shared", limit),
        "cycle-names": Case(_cycle(), "state_dict", "error", "contains itself"),
        "wide-repr": Case(_wide(1_000_000), "repr", "text", "(0): M()", limit),
    }
    reports, canary = run_cases(tmp_path, SETUP, cases)
    for name, case in cases.items():
        check_case(name, case, reports)
    assert not canary.exists()
