"""``emulpickle show`` on a legacy tar checkpoint whose storages view others.

Torch < 0.4 wrote a storage that views part of another as its own record
(``storage 201 views elements 2..8 of storage 101``): tensors on the two are
sharing bytes, and the file holds them once. The checkpoint is written
record by record, as torch's ``_save`` wrote them (no torch needed).
"""

from __future__ import annotations

from pathlib import Path

import emulpickle_torch as et
import numpy as np
import pytest
from emulpickle_torch import cli_support
from torch_ckpt_helpers import (
    p_pid,
    p_str,
    pickle_of,
    sys_info,
    tar_checkpoint,
    tar_storages,
    tar_tensors,
)

from emulpickle.cli import main


def _checkpoint(path: Path) -> Path:
    data = np.arange(12, dtype="<f4").tobytes()
    tensors = {"w": (1, 101, (3, 4), (4, 1), 0), "v": (2, 201, (2, 3), (3, 1), 0)}
    items = b"".join(p_str(name) + p_pid(spec[0]) for name, spec in tensors.items())
    members = {
        "sys_info": sys_info(),
        "pickle": pickle_of(b"}(" + items + b"u"),
        "tensors": tar_tensors(list(tensors.values())),
        "storages": tar_storages(
            [(101, "FloatStorage", 12, data)], views=[(201, 101, 2, 6)]
        ),
    }
    path.write_bytes(tar_checkpoint(members))
    return path


def test_storage_span_resolves_a_legacy_storage_view(tmp_path: Path) -> None:
    loaded = et.load(_checkpoint(tmp_path / "old.pt"))
    whole = cli_support.storage_span(loaded["w"])
    view = cli_support.storage_span(loaded["v"])
    assert whole is not None and view is not None
    assert view.storage is whole.storage
    assert (view.key, view.nbytes) == (whole.key, 48)
    assert view.view[1] == 8  # bytes into storage 101


def test_show_counts_a_viewed_storage_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", str(_checkpoint(tmp_path / "old.pt"))]) == 0
    out = capsys.readouterr().out
    assert "'v': Tensor float32 [2, 3] cpu (shares storage with w)" in out
    assert "2 tensors, 18 elements, 48 B (1 sharing a storage" in out
