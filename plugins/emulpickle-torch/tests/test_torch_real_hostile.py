"""Hostile checkpoints with ``tensors="torch"``, and the plugin without torch.

Crafted checkpoints (sparse indices out of bounds, a compressed-index array
that lies, nested components outside their buffer, a view outside its
storage) are loaded in a child process whose torch constructors are
replaced by a trap that writes a canary file: the loader must refuse with an
``emulpickle.UnpicklingError`` before torch sees the bad arguments, and the
child must exit normally (no crash, no segfault).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from torch_ckpt_helpers import TORCH_REASON, float_checkpoint, p_tensor, rewrite_zip

TIMEOUT = 60  # a hang guard

CHILD = r"""
import json, sys
import torch
import emulpickle, emulpickle_torch

canary = sys.argv[2]

def trap(name):
    def called(*args, **kwargs):
        open(canary, "w").write(name)
        raise SystemExit(3)
    return called

for name in ("sparse_coo_tensor", "sparse_compressed_tensor",
             "_nested_view_from_buffer"):
    setattr(torch, name, trap(name))
out = {}
for how in ("load", "torch_load"):
    try:
        if how == "load":
            emulpickle_torch.load(sys.argv[1], tensors="torch")
        else:
            emulpickle_torch.torch_load(sys.argv[1])
        out[how] = "loaded"
    except emulpickle.UnpicklingError as exc:
        out[how] = [type(exc).__name__, str(exc)]
print(json.dumps(out))
"""


def _run(path: Path, tmp_path: Path) -> dict[str, Any]:
    canary = tmp_path / "canary"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(canary)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not canary.exists(), canary.read_text()
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def _patched(tmp_path: Path, obj: Any, old: bytes, new: bytes) -> Path:
    """``obj`` saved by torch, then one record's bytes replaced (same size)."""
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    source = tmp_path / "good.pt"
    torch.save(obj, source)
    assert len(old) == len(new)
    found = []

    def change(name: str, data: bytes) -> tuple[str, bytes, int]:
        if "/data/" in name and data == old:
            found.append(name)
            data = new
        return name, data, zipfile.ZIP_STORED

    target = rewrite_zip(source, tmp_path / "bad.pt", change)
    assert found, "the record to patch was not found"
    return target


def _i64(*values: int) -> bytes:
    return np.array(values, dtype="<i8").tobytes()


def _assert_refused(result: dict[str, Any], words: str) -> None:
    for how in ("load", "torch_load"):
        assert result[how][0] == "EmulationError", result
        assert words in result[how][1], result


def test_coo_index_out_of_bounds(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    indices = torch.tensor([[0, 1, 1], [2, 0, 2]])
    coo = torch.sparse_coo_tensor(indices, torch.tensor([3.0, 4, 5]), (2, 3))
    path = _patched(
        tmp_path, {"s": coo}, _i64(0, 1, 1, 2, 0, 2), _i64(0, 1, 1, 2, 0, 1 << 40)
    )
    _assert_refused(_run(path, tmp_path), "out of range")
    negative = _patched(
        tmp_path, {"s": coo}, _i64(0, 1, 1, 2, 0, 2), _i64(0, -5, 1, 2, 0, 2)
    )
    _assert_refused(_run(negative, tmp_path), "out of range")


def test_csr_indices_that_lie(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    csr = torch.tensor([[1.0, 0, 2], [0, 3, 0]]).to_sparse_csr()
    # crow_indices [0, 2, 3] claims more values than there are.
    path = _patched(tmp_path, {"s": csr}, _i64(0, 2, 3), _i64(0, 2, 9))
    _assert_refused(_run(path, tmp_path), "compressed indices")
    # col_indices [0, 2, 1] (the second row of a 2x3 storage that torch
    # keeps from the conversion) with a column past the end.
    plain = _patched(
        tmp_path, {"s": csr}, _i64(0, 0, 1, 0, 2, 1), _i64(0, 0, 1, 0, 2, 77)
    )
    _assert_refused(_run(plain, tmp_path), "plain index out of range")


def test_nested_component_outside_its_buffer(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    nested = torch.nested.nested_tensor([torch.ones(2, 3), torch.zeros(4, 3)])
    # The offsets record [0, 6]: the second component moved past the buffer.
    path = _patched(tmp_path, {"n": nested}, _i64(0, 6), _i64(0, 1 << 30))
    _assert_refused(_run(path, tmp_path), "component")


def test_view_outside_its_storage(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason=TORCH_REASON)
    body = p_tensor("0", 4, 2, (3,), (1,))  # elements 2..4 of 4
    path = float_checkpoint(tmp_path / "view.pt", body)
    _assert_refused(_run(path, tmp_path), "storage")


NO_TORCH = r"""
import sys
sys.modules["torch"] = None  # import torch now fails, as without torch
import emulpickle_torch
state = emulpickle_torch.load(sys.argv[1])
assert state["w"].shape == (2, 3), state
for call in (
    lambda: emulpickle_torch.load(sys.argv[1], tensors="torch"),
    lambda: emulpickle_torch.torch_load(sys.argv[1]),
):
    try:
        call()
    except ImportError as exc:
        assert "pip install torch==2.13.0" in str(exc), exc
    else:
        raise AssertionError("loaded real tensors without torch")
print("ok")
"""


def test_plugin_without_torch(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    path = tmp_path / "w.pt"
    torch.save({"w": torch.ones(2, 3)}, path)
    proc = subprocess.run(
        [sys.executable, "-c", NO_TORCH, str(path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"
