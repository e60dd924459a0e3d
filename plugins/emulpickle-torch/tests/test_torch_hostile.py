"""Hostile checkpoints: refused with emulpickle errors, nothing executed.

These build their files by hand, so they run without torch installed.
"""

from __future__ import annotations

from pathlib import Path

import emulpickle_torch as et
import numpy as np
import pytest
from torch_ckpt_helpers import (
    float_checkpoint,
    p_call,
    p_global,
    p_str,
    p_tensor,
    pickle_of,
    write_zip,
)

import emulpickle


def test_handmade_checkpoint_loads(tmp_path: Path) -> None:
    path = float_checkpoint(tmp_path / "ok.pt", p_tensor("0", 4, 1, (2,), (2,)))
    tensor = et.load(path)
    assert tensor.shape == (2,) and tensor.dtype == "float32"
    assert tensor.numpy().tolist() == [1.0, 3.0]
    assert tensor.tobytes() == np.array([1.0, 3.0], "<f4").tobytes()


@pytest.mark.parametrize(
    ("offset", "size", "stride"),
    [
        (4, (1,), (1,)),  # offset past the end
        (0, (5,), (1,)),  # too many elements
        (0, (2, 2), (3, 1)),  # stride reaches past the end
        (0, (2,), (-1,)),  # negative stride
        (-1, (1,), (1,)),  # negative offset
        (0, (-2,), (1,)),  # negative size
        (0, (2, 2), (1,)),  # size / stride mismatch
        (0, (2**40, 2**40), (2**60, 2**60)),  # overflowing extent
    ],
)
def test_out_of_bounds_views(
    tmp_path: Path, offset: int, size: tuple[int, ...], stride: tuple[int, ...]
) -> None:
    path = float_checkpoint(tmp_path / "bad.pt", p_tensor("0", 4, offset, size, stride))
    with pytest.raises(emulpickle.EmulationError):
        et.load(path)


def test_numel_mismatch_and_missing_record(tmp_path: Path) -> None:
    too_big = float_checkpoint(tmp_path / "a.pt", p_tensor("0", 8, 0, (8,), (1,)))
    with pytest.raises(et.TorchFormatError, match="declares"):
        et.load(too_big)
    missing = float_checkpoint(tmp_path / "b.pt", p_tensor("7", 4, 0, (4,), (1,)))
    with pytest.raises(et.TorchFormatError, match="missing record"):
        et.load(missing)


@pytest.mark.parametrize("key", ["../0", "/etc/passwd", "..", "a/b", "x\\y"])
def test_unsafe_record_names(tmp_path: Path, key: str) -> None:
    path = float_checkpoint(tmp_path / "k.pt", p_tensor(key, 4, 0, (4,), (1,)))
    with pytest.raises(et.TorchFormatError, match="unsafe"):
        et.load(path)


def test_unsafe_root(tmp_path: Path) -> None:
    path = float_checkpoint(
        tmp_path / "r.pt", p_tensor("0", 4, 0, (4,), (1,)), root=".."
    )
    with pytest.raises(et.TorchFormatError):
        et.load(path)


def test_payload_in_data_pkl_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    body = p_call(p_global("os", "system"), p_str(f"touch {marker}"))
    path = float_checkpoint(tmp_path / "evil.pt", body)
    with pytest.raises(emulpickle.ForbiddenGlobalError) as info:
        et.load(path)
    assert (info.value.module, info.value.name) == ("os", "system")
    generic = et.load(path, unknown="generic")
    assert isinstance(generic, emulpickle.GenericObject)
    assert not marker.exists()


def test_builtins_eval_via_rebuild_from_type_is_refused(tmp_path: Path) -> None:
    body = p_call(
        p_global("torch._utils", "_rebuild_from_type_v2"),
        p_global("builtins", "eval"),
        p_global("torch", "Tensor"),
        b"(" + p_str("1+1") + b"t",
        b"N",
    )
    path = float_checkpoint(tmp_path / "e.pt", body)
    with pytest.raises(emulpickle.UnpicklingError):
        et.load(path)


def test_deep_tuple_as_rebuild_function_is_not_hashed(tmp_path: Path) -> None:
    # _rebuild_from_type_v2 used to look its function up in a dict: hashing a
    # tuple nested a million deep crashed the interpreter.
    body = p_call(
        p_global("torch._utils", "_rebuild_from_type_v2"),
        b"N" + b"\x85" * 1_000_000,
        p_global("torch", "Tensor"),
        b")",
        b"N",
    )
    path = float_checkpoint(tmp_path / "deep.pt", body)
    with pytest.raises((emulpickle.EmulationError, emulpickle.LimitExceededError)):
        et.load(path)


def test_torchscript_archive_is_refused(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "script.pt",
        {
            "data.pkl": pickle_of(b"N"),
            "constants.pkl": pickle_of(b")"),
            "code/__torch__/m.py": b"def forward(self): ...",
        },
    )
    with pytest.raises(et.TorchScriptArchiveError):
        et.load(path)
    assert issubclass(et.TorchScriptArchiveError, emulpickle.UnpicklingError)


def test_corrupt_containers(tmp_path: Path) -> None:
    path = float_checkpoint(tmp_path / "c.pt", p_tensor("0", 4, 0, (4,), (1,)))
    data = path.read_bytes()
    for bad in (data[:-10], data[: len(data) // 2], b"PK\x03\x04" + b"\0" * 40):
        with pytest.raises(emulpickle.UnpicklingError):
            et.load(bad)
    with pytest.raises(et.TorchFormatError):
        et.load(b"")
    bad_order = write_zip(
        tmp_path / "o.pt", {"data.pkl": pickle_of(b"N"), "byteorder": b"middle"}
    )
    with pytest.raises(et.TorchFormatError, match="byte order"):
        et.load(bad_order)


def test_legacy_stream_bad_storage_count(tmp_path: Path) -> None:
    import pickle
    import struct

    header = b"".join(
        pickle.dumps(x, protocol=2) for x in (et.MAGIC_NUMBER, 1001, {"x": 1})
    )
    pid = (
        b"(" + p_str("storage") + p_global("torch", "FloatStorage") + p_str("0")
        + p_str("cpu") + b"J\x04\x00\x00\x00N" + b"tQ"
    )  # fmt: skip
    body = p_call(
        p_global("torch._utils", "_rebuild_tensor_v2"),
        pid, b"J\x00\x00\x00\x00", b"(J\x04\x00\x00\x00t", b"(J\x01\x00\x00\x00t",
        b"\x89", b"N",
    )  # fmt: skip
    keys = pickle.dumps(["0"], protocol=2)
    good = header + pickle_of(body) + keys + struct.pack("<q", 4) + bytes(16)
    assert et.load(good).numpy().tolist() == [0.0] * 4
    lying = header + pickle_of(body) + keys + struct.pack("<q", 400) + bytes(16)
    with pytest.raises(et.TorchFormatError):
        et.load(lying)
    short = header + pickle_of(body) + keys + struct.pack("<q", 4) + bytes(8)
    with pytest.raises(et.TorchFormatError):
        et.load(short)
