"""The legacy tar format (torch < 0.4), built by hand and checked against torch.

torch 2.13 cannot write this format, so the files are built here; that
torch.load reads each one to the same tensors is the proof they are real.
"""

from __future__ import annotations

import json
import mmap
import tarfile
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import emulpickle_torch as et
import numpy as np
import pytest
from emulpickle_torch._source import BufferSource
from torch_ckpt_helpers import (
    TORCH_REASON,
    assert_same_tensor,
    p_global,
    p_int,
    p_pid,
    p_str,
    p_tuple,
    pickle_of,
    tar_checkpoint,
    tar_tensors,
)
from torch_tar_fixture import STORAGES, TENSORS, members, storages_member

import emulpickle
from emulpickle.formats.tar import read_members

torch = pytest.importorskip("torch", reason=TORCH_REASON)


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore")  # TypedStorage deprecation


def torch_load(path: Path) -> Any:
    return torch.load(path, weights_only=False)


def check_against_torch(ours: Any, theirs: Any) -> None:
    for name in TENSORS:
        assert_same_tensor(ours[name], theirs[name])
    assert ours["again"] is ours["w"] and theirs["again"] is theirs["w"]
    assert ours["w"].storage is ours["wt"].storage is ours["scalar"].storage
    stored = np.frombuffer(ours["storage"].storage.buffer(), "<f8")
    assert ours["storage"].dtype.name == "float64"
    assert stored.tolist() == theirs["storage"].tolist()
    assert theirs["module"] is OrderedDict
    emulated = et.torch_registry().resolve("collections", "OrderedDict")
    assert emulated is not None and ours["module"] is emulated.value
    assert ours["epoch"] == theirs["epoch"] == 3


@pytest.mark.parametrize(
    "tar_format", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT]
)
def test_tar_checkpoint_matches_torch(tmp_path: Path, tar_format: int) -> None:
    path = tmp_path / "old.pt"
    path.write_bytes(tar_checkpoint(members(), tar_format=tar_format))
    theirs = torch_load(path)
    check_against_torch(et.load(path), theirs)
    check_against_torch(et.load(path.read_bytes()), theirs)
    with open(path, "rb") as handle:
        check_against_torch(et.load(handle, mmap=False), theirs)


def test_torch_refuses_weights_only_for_tar(tmp_path: Path) -> None:
    path = tmp_path / "old.pt"
    path.write_bytes(tar_checkpoint(members()))
    with pytest.raises(Exception, match=r"legacy \.tar format"):
        torch.load(path, weights_only=True)


@pytest.mark.parametrize(
    ("tar_format", "long_name"),
    [
        (tarfile.PAX_FORMAT, "notes/" + "x" * 150),  # a PAX path record
        (tarfile.GNU_FORMAT, "notes/" + "x" * 150),  # a GNU long-name member
        (tarfile.USTAR_FORMAT, "notes/" + "x" * 80 + "/y"),  # the ustar prefix
    ],
)
def test_long_names_directories_and_extra_members(
    tmp_path: Path, tar_format: int, long_name: str
) -> None:
    extra = {"notes": b"", long_name: b"ignored", **members(), "trailer": b"zz"}
    data = tar_checkpoint(extra, tar_format=tar_format, types={"notes": b"5"})
    path = tmp_path / "extra.pt"
    path.write_bytes(data)
    check_against_torch(et.load(path), torch_load(path))
    # The member listing agrees with tarfile's.
    ours = read_members(BufferSource(data))
    with tarfile.open(path) as tar:
        theirs = {m.name: (m.offset_data, m.size, m.isreg()) for m in tar}
    listed = {m.name: (m.offset, m.size, m.regular) for m in ours.values()}
    assert listed == theirs and long_name in listed


def test_tar_storages_are_lazy_and_memory_mapped(tmp_path: Path) -> None:
    path = tmp_path / "old.pt"
    path.write_bytes(tar_checkpoint(members()))
    loaded = et.load(path)
    storage = loaded["w"].storage
    assert storage._buffer is None  # nothing read until asked
    array = loaded["w"].numpy()
    assert isinstance(storage.buffer().obj, mmap.mmap)
    assert not array.flags.owndata and not array.flags.writeable
    raw = path.read_bytes()
    assert raw.find(STORAGES[0][2].tobytes()) >= 0
    assert array.tobytes() == STORAGES[0][2][:12].tobytes()


def test_cli_show_and_convert_read_tar_checkpoints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from emulpickle.cli import main

    path = tmp_path / "old.pt"
    path.write_bytes(tar_checkpoint(members()))
    assert main(["show", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "legacy tar format" in shown
    assert "epoch" in shown
    # A state dict of tensors only converts to safetensors.
    state = {name: TENSORS[name] for name in ("w", "double", "long")}
    items = b"".join(p_str(name) + p_pid(spec[0]) for name, spec in state.items())
    path.write_bytes(
        tar_checkpoint({**members(), "pickle": pickle_of(b"}(" + items + b"u")})
    )
    target = tmp_path / "old.safetensors"
    assert main(["convert", str(path), str(target)]) == 0
    header_size = int.from_bytes(target.read_bytes()[:8], "little")
    header = json.loads(target.read_bytes()[8 : 8 + header_size])
    theirs = torch_load(path)
    for name in state:
        assert header[name]["shape"] == list(theirs[name].shape)


def test_cli_dis_shows_the_main_pickle_of_a_tar_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from emulpickle.cli import main

    path = tmp_path / "old.pt"
    path.write_bytes(tar_checkpoint(members()))
    assert main(["dis", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "member 'pickle'" in shown
    assert "BINPERSID" in shown and "epoch" in shown


# --- scanning ---------------------------------------------------------------

SYSTEM = p_global("os", "system") + p_tuple(p_str("touch /tmp/never")) + b"R"


def test_scan_reads_every_pickle_of_a_tar_checkpoint() -> None:
    report = emulpickle.scan(tar_checkpoint(members()))
    assert report.clean, report.errors
    seen = {(f.module, f.name, f.where.split(" ")[0]) for f in report.findings}
    storage_classes = {kind for _, kind, _ in STORAGES}
    assert {n for m, n, w in seen if w == "storages"} == storage_classes
    assert {n for m, n, w in seen if w == "tensors"} == {"FloatTensor"}
    assert ("collections", "OrderedDict", "pickle") in seen


def storages_with_payload() -> bytes:
    """One more storage record, whose pickle also calls os.system."""
    good = storages_member()
    head = len(pickle_of(p_int(len(STORAGES))))
    torch_type = p_global("torch", "ByteStorage")
    record = p_tuple(p_int(999), p_str("cpu"), torch_type, SYSTEM)
    bad = pickle_of(record) + (1).to_bytes(8, "little") + b"\x07"
    return pickle_of(p_int(len(STORAGES) + 1)) + bad + good[head:]


@pytest.mark.parametrize(
    "member",
    [
        {"pickle": pickle_of(SYSTEM)},
        {"sys_info": pickle_of(SYSTEM)},
        {"tensors": tar_tensors([]) + pickle_of(SYSTEM)},
    ],
    ids=["pickle", "sys_info", "tensors"],
)
def test_scan_flags_payloads_in_tar_members(member: dict[str, bytes]) -> None:
    report = emulpickle.scan(tar_checkpoint({**members(), **member}))
    assert not report.clean
    assert any(
        (f.module, f.name, f.verdict) == ("os", "system", "dangerous")
        for f in report.findings
    )


def test_scan_follows_storage_records_past_raw_bytes() -> None:
    data = storages_with_payload()
    report = emulpickle.scan(tar_checkpoint({**members(), "storages": data}))
    assert report.errors == []
    dangerous = [f for f in report.findings if f.verdict == "dangerous"]
    assert [(f.module, f.name) for f in dangerous] == [("os", "system")]
    assert dangerous[0].where == "storages (pickle #2)"
    # every genuine record after it was reached too
    storages = {f.name for f in report.findings if f.where.startswith("storages")}
    assert {kind for _, kind, _ in STORAGES} <= storages


def test_scan_refuses_storage_records_it_cannot_size() -> None:
    count = pickle_of(p_int(1))
    record = pickle_of(p_tuple(p_int(1), p_str("cpu"), p_global("torch", "Mystery")))
    data = count + record + (4).to_bytes(8, "little") + b"\0" * 4 + pickle_of(b"]")
    report = emulpickle.scan(tar_checkpoint({**members(), "storages": data}))
    assert not report.clean
    assert any("cannot tell the size" in e for e in report.errors)
