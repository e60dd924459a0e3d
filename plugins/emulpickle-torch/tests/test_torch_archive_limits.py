"""The zip and tar containers are read within the load's Limits; bytes
inflated from compressed records are shared while in use and not kept after.

(tests/hostile/test_archive_bombs.py runs the attacks in child processes.)
"""

from __future__ import annotations

import gc
from pathlib import Path

import emulpickle_torch as et
import numpy as np
import pytest
from torch_ckpt_helpers import (
    p_call,
    p_global,
    p_int,
    p_storage,
    p_str,
    p_tuple,
    pickle_of,
    small_tar_members,
    tar_checkpoint,
    write_zip,
)

import emulpickle


def _tensor(key: str, numel: int, offset: int, size: int) -> bytes:
    return p_call(
        p_global("torch._utils", "_rebuild_tensor_v2"),
        p_storage(key, numel),
        p_int(offset),
        p_tuple(p_int(size)),
        p_tuple(p_int(1)),
        b"\x89",
        b"N",
    )


def two_views(path: Path, numel: int = 1 << 18) -> Path:
    """Two tensors viewing one deflated float32 storage (1 MiB)."""
    body = (
        b"}"
        + p_str("a")
        + _tensor("0", numel, 0, numel // 2)
        + p_str("b")
        + _tensor("0", numel, numel // 2, numel // 2)
        + b"s"
    )
    body = b"}(" + body[1:-1] + b"u"
    data = np.arange(numel, dtype="<f4").tobytes()
    records = {"data.pkl": pickle_of(body), "byteorder": b"little", "data/0": data}
    return write_zip(path, records, compress=True)


def test_inflated_storage_is_shared_while_used_and_freed_after(tmp_path: Path) -> None:
    loaded = et.load(two_views(tmp_path / "views.pt"))
    a, b = loaded["a"].numpy(), loaded["b"].numpy()
    assert a[-1] + 1 == b[0]
    # Both arrays view one inflated copy of the record.
    assert np.shares_memory(a, b) is False  # disjoint halves ...
    whole = loaded["a"].storage.buffer()
    assert np.shares_memory(a, np.frombuffer(whole, "u1"))  # ... of one buffer
    assert np.shares_memory(b, np.frombuffer(whole, "u1"))
    del whole
    storage = loaded["a"].storage
    assert storage._buffer is None and storage._shared() is not None
    del a, b
    gc.collect()
    assert storage._shared() is None  # nothing keeps the 1 MiB
    assert loaded["b"].numpy()[0] == (1 << 17)  # read again when asked


def test_inflated_bytes_are_counted_per_load(tmp_path: Path) -> None:
    path = two_views(tmp_path / "views.pt")
    limits = emulpickle.Limits(max_inflated_bytes=(1 << 20) + 1000)
    loaded = et.load(path, limits=limits)
    first = loaded["a"].numpy()
    assert loaded["b"].numpy()[0] == first[-1] + 1  # shared: not inflated twice
    del first
    gc.collect()
    with pytest.raises(emulpickle.LimitExceededError) as info:
        loaded["a"].numpy()  # freed, so inflated again: over the total
    assert info.value.limit == "max_inflated_bytes"


def test_zip_member_count_follows_limits(tmp_path: Path) -> None:
    path = two_views(tmp_path / "views.pt")
    with pytest.raises(emulpickle.LimitExceededError) as info:
        et.load(path, limits=emulpickle.Limits(max_archive_members=2))
    assert info.value.limit == "max_archive_members"
    assert set(et.load(path, limits=emulpickle.Limits(max_archive_members=3)))


def test_tar_member_count_follows_limits() -> None:
    archive = tar_checkpoint(small_tar_members())
    assert et.load(archive)["t"].numpy().tolist() == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(emulpickle.LimitExceededError) as info:
        et.load(archive, limits=emulpickle.Limits(max_archive_members=3))
    assert info.value.limit == "max_archive_members"


def test_several_roots_are_refused(tmp_path: Path) -> None:
    records = {"a/data.pkl": pickle_of(b"K\x01"), "b/data.pkl": pickle_of(b"K\x02")}
    path = write_zip(tmp_path / "roots.pt", records, root="")
    with pytest.raises(et.TorchFormatError, match=r"several <root>/data\.pkl"):
        et.load(path)
