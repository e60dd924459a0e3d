"""Hostile zip checkpoints: overlapping records, duplicated records, a
compressed pickle bomb, many compressed records, a huge member count.

Each file is built by hand (tests/helpers/zip_builder.py) and loaded in a child
process with its address space bounded, through ``emulpickle_torch.load``
and through ``python -m emulpickle dis|show|json``. The loaders must refuse
with a clear emulpickle error (the CLI with exit status 2) in bounded memory,
and nothing a pickle names may run (its ``os.system`` payload would create a
canary file).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest

pytest.importorskip("emulpickle_torch")

from helpers.zip_builder import Central, Record, deflated_zeros, zip_bytes

MB = 1 << 20
#: The children's address space: the old loaders needed 2 GB and more here.
ADDRESS_SPACE = 1024 * MB
#: What a refusal (or a record-at-a-time load) may take at most.
MAX_RSS = 256 * MB
TIMEOUT = 120  # a hang guard, not a speed requirement
STORAGE = 32 * MB
STORAGES = 60

CHILD = r"""
import json, os, resource, runpy, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]),) * 2)
mode, args = sys.argv[2], sys.argv[3:]
out = {}
if mode == "cli":
    sys.argv = ["emulpickle", *args]
    try:
        runpy.run_module("emulpickle", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        out["status"] = exc.code
else:
    import emulpickle, emulpickle_torch
    spec = json.loads(args[1])
    try:
        limits = emulpickle.Limits(**spec["limits"])
        obj = emulpickle_torch.load(args[0], unknown="generic", limits=limits)
        # Touch every tensor's data, one at a time, keeping none.
        total = 0
        for value in obj.values():
            if isinstance(value, emulpickle_torch.Tensor):
                total += int(value.numpy().sum())
        out.update(outcome="result", total=total)
    except emulpickle.UnpicklingError as exc:
        out.update(outcome="error", type=type(exc).__name__,
                   limit=getattr(exc, "limit", None), message=str(exc)[:400])
    except BaseException as exc:
        out.update(outcome="unexpected", type=type(exc).__name__,
                   message=repr(exc)[:400])
# The peak resident size of this process image: ru_maxrss would include the
# parent's (Linux carries it over fork and exec).
try:
    with open("/proc/self/status") as status:
        hwm = [line for line in status if line.startswith("VmHWM:")][0]
    out["maxrss"] = int(hwm.split()[1]) * 1024
except (OSError, IndexError):
    out["maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
sys.stdout.flush()
sys.stderr.write("\nCHILD " + json.dumps(out) + "\n")
sys.stderr.flush()
os._exit(0)
"""


def run_child(tmp_path: Path, *args: str) -> dict[str, Any]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(ADDRESS_SPACE), *args],
        capture_output=True,
        timeout=TIMEOUT,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    stderr = proc.stderr.decode(errors="replace")
    head, _, tail = stderr.rpartition("\nCHILD ")
    assert tail, stderr[-3000:]
    result: dict[str, Any] = json.loads(tail)
    result["stderr"] = head
    return result


# ------------------------------------------------------------ the pickles


def _str(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _tensor(key: str, numel: int) -> bytes:
    pid = (
        b"("
        + _str("storage")
        + b"ctorch\nByteStorage\n"
        + _str(key)
        + _str("cpu")
        + b"J"
        + struct.pack("<i", numel)
        + b"tQ"
    )
    size = b"(J" + struct.pack("<i", numel) + b"t"
    return (
        b"ctorch._utils\n_rebuild_tensor_v2\n("
        + pid
        + b"K\x00"
        + size
        + b"(K\x01t\x89Nt"
        + b"R"
    )


def checkpoint_pickle(canary: Path, storages: int = 0, numel: int = STORAGE) -> bytes:
    """A dict of ``storages`` tensors, plus ``os.system("touch canary")``."""
    payload = b"cos\nsystem\n(" + _str(f"touch {canary}") + b"tR"
    items = b"".join(_str(f"t{i}") + _tensor(str(i), numel) for i in range(storages))
    return b"\x80\x02}(" + _str("evil") + payload + items + b"u."


# -------------------------------------------------------------- the files


class Case(NamedTuple):
    build: Any  # (canary) -> bytes of the file
    match: str  # in the error message
    limit: str | None  # LimitExceededError.limit, or None for TorchFormatError
    limits: dict[str, int] = {}  # noqa: RUF012 - for the load (the CLI: defaults)
    cli: bool = True  # whether the CLI refuses it too (with default limits)


def shared_record(canary: Path) -> bytes:
    """CVE-2024-0450's shape: 60 storages, one 32 MB record (32 KB deflated)."""
    records = [
        Record("archive/data.pkl", checkpoint_pickle(canary, STORAGES)),
        Record("archive/data/0", deflated_zeros(STORAGE), 8, STORAGE),
    ]
    centrals = [Central("archive/data.pkl", 0)] + [
        Central(f"archive/data/{i}", 1) for i in range(STORAGES)
    ]
    return zip_bytes(records, centrals)


def duplicate_pickle(canary: Path, second: str = "archive/data.pkl") -> bytes:
    return zip_bytes(
        [
            Record("archive/data.pkl", b"\x80\x02}."),
            Record(second, checkpoint_pickle(canary)),
        ]
    )


def pickle_bomb(canary: Path, size: int = 5 << 30) -> bytes:
    """data.pkl inflating to 5 GB (at deflate's best ratio: a 5 MB file):
    beyond the default ``max_inflated_bytes``."""
    return zip_bytes([Record("archive/data.pkl", deflated_zeros(size), 8, size)])


def ratio_bomb(canary: Path) -> bytes:
    """data.pkl declaring 300 MB from a few KB."""
    return zip_bytes([Record("archive/data.pkl", deflated_zeros(4 * MB), 8, 300 * MB)])


def many_members(canary: Path) -> bytes:
    records = [Record("archive/data.pkl", checkpoint_pickle(canary))]
    records += [Record(f"archive/extra/{i}", b"") for i in range(100_001)]
    return zip_bytes(records)


CASES = {
    "shared-record": Case(shared_record, "overlap", None),
    "duplicate-pickle": Case(duplicate_pickle, "listed 2 times", None),
    "duplicate-pickle-case": Case(
        lambda c: duplicate_pickle(c, "archive/DATA.PKL"), "listed 2 times", None
    ),
    "pickle-bomb": Case(pickle_bomb, "max_inflated_bytes", "max_inflated_bytes"),
    # 1 GB: within the defaults, beyond the caller's limits.
    "pickle-bomb-limited": Case(
        lambda c: pickle_bomb(c, 1 << 30),
        "max_inflated_bytes",
        "max_inflated_bytes",
        {"max_inflated_bytes": 256 * MB},
        cli=False,
    ),
    "ratio-bomb": Case(ratio_bomb, "max_inflate_ratio", "max_inflate_ratio"),
    "many-members": Case(many_members, "max_archive_members", "max_archive_members"),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("bombs")
    built = {}
    for name, case in CASES.items():
        canary = root / f"{name}.canary"
        path = root / f"{name}.pt"
        path.write_bytes(case.build(canary))
        built[name] = (path, canary)
    return built


@pytest.mark.parametrize("name", list(CASES))
def test_load_refuses(
    name: str, files: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    path, canary = files[name]
    case = CASES[name]
    out = run_child(tmp_path, "api", str(path), json.dumps({"limits": case.limits}))
    assert out["outcome"] == "error", out
    expected = "LimitExceededError" if case.limit else "TorchFormatError"
    assert out["type"] == expected, out
    assert out["limit"] == case.limit
    assert case.match in out["message"]
    assert out["maxrss"] < MAX_RSS, out
    assert not canary.exists()


@pytest.mark.parametrize("command", ["dis", "show", "json"])
@pytest.mark.parametrize("name", [name for name, case in CASES.items() if case.cli])
def test_cli_refuses(
    name: str, command: str, files: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    path, canary = files[name]
    out = run_child(tmp_path, "cli", command, str(path))
    assert out["status"] == 2, out
    message = out["stderr"].strip().splitlines()[-1]
    assert message.startswith("emulpickle: error: "), out
    assert CASES[name].match in message, out
    assert out["maxrss"] < MAX_RSS, out
    assert not canary.exists()


# ------------------------------------- many compressed records, each fine


@pytest.fixture(scope="module")
def many_deflated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """60 distinct deflated 32 MB records (2 GB inflated) in a 2 MB file."""
    root = tmp_path_factory.mktemp("many")
    canary = root / "canary"
    records = [Record("archive/data.pkl", checkpoint_pickle(canary, STORAGES))]
    records += [
        Record(f"archive/data/{i}", deflated_zeros(STORAGE), 8, STORAGE)
        for i in range(STORAGES)
    ]
    path = root / "many.pt"
    path.write_bytes(zip_bytes(records))
    assert path.stat().st_size < 4 * MB
    return path, canary


def test_compressed_records_are_not_kept(
    many_deflated: tuple[Path, Path], tmp_path: Path
) -> None:
    """Each record is inflated when used and freed after: memory stays that
    of one record, not of all 60 (2 GB, beyond the child's address space)."""
    path, canary = many_deflated
    out = run_child(tmp_path, "api", str(path), json.dumps({"limits": {}}))
    assert out["outcome"] == "result", out
    assert out["total"] == 0
    assert out["maxrss"] < MAX_RSS, out
    assert not canary.exists()


def test_inflated_total_is_bounded_per_load(
    many_deflated: tuple[Path, Path], tmp_path: Path
) -> None:
    path, canary = many_deflated
    limits = {"max_inflated_bytes": 8 * STORAGE}
    out = run_child(tmp_path, "api", str(path), json.dumps({"limits": limits}))
    assert out["outcome"] == "error", out
    assert out["type"] == "LimitExceededError"
    assert out["limit"] == "max_inflated_bytes"
    assert out["maxrss"] < MAX_RSS, out
    assert not canary.exists()
