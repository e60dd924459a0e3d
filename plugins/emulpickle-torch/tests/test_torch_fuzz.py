"""Mutation fuzzing of the torch archive reader.

Seeds are hand-built zip and legacy tar checkpoints and (when torch is
installed) files written by ``torch.save`` in both of its formats. Whatever
the bytes become, loading them and reading every tensor either works or
raises an ``emulpickle.UnpicklingError`` subclass: never another exception,
a crash or a hang.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

import emulpickle_torch as et
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch_ckpt_helpers import (
    float_checkpoint,
    p_tensor,
    small_tar_members,
    tar_checkpoint,
)

import emulpickle

EXAMPLES = int(os.environ.get("EMULPICKLE_FUZZ_EXAMPLES", "300"))


def _seeds(tmp: Path) -> list[bytes]:
    seeds = [float_checkpoint(tmp / "hand.pt", p_tensor("0", 4, 1, (2,), (2,)))]
    (tmp / "tar.pt").write_bytes(tar_checkpoint(small_tar_members()))
    seeds.append(tmp / "tar.pt")
    try:
        import torch
    except ImportError:
        pass
    else:
        state = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.ones(3).t()}
        torch.save(state, tmp / "zip.pt")
        torch.save(state, tmp / "legacy.pt", _use_new_zipfile_serialization=False)
        seeds += [tmp / "zip.pt", tmp / "legacy.pt"]
    return [Path(seed).read_bytes() for seed in seeds]


def _touch(obj: Any) -> None:
    """Read the bytes of every tensor reachable through dicts and lists."""
    pending = [obj]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
        elif isinstance(item, et.Tensor):
            item.tobytes()


def test_mutated_checkpoints_fail_cleanly(tmp_path: Path) -> None:
    seeds = _seeds(tmp_path)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(
        seed=st.sampled_from(seeds),
        edits=st.lists(
            st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
            min_size=1,
            max_size=8,
        ),
        cut=st.none() | st.floats(0, 1),
    )
    def check(seed: bytes, edits: list[tuple[float, int]], cut: float | None) -> None:
        data = bytearray(seed)
        for where, value in edits:
            data[int(where * len(data))] = value
        if cut is not None:
            del data[int(cut * len(data)) :]
        with contextlib.suppress(emulpickle.UnpicklingError):
            _touch(et.load(io.BytesIO(bytes(data)), unknown="generic"))

    check()
