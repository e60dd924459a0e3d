"""``emulpickle scan`` and ``dis`` of big files hold a bounded amount of memory.

Each command runs in a child process, which first runs the same command on a
small pickle (everything imported, the baseline), then on the big file; the
growth of its peak resident set (pages of a memory-mapped file it touched
count too) must stay under :data:`MAX_GROWTH`, whatever the file's size: the
payloads (an array's bytes, a tensor's storages, a long string) are skipped
where they lie, never copied nor read.

The files are written by the real tools. One of about 150 MB runs by default;
the others (about 300 MB each, several of them) only with
``EMULPICKLE_BIG_FILES=1``, to keep the default run quick.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emulpickle.disasm import MAX_ARG_BYTES, Payload, disassemble, format_instruction

if not os.path.exists("/proc/self/status"):
    pytest.skip("peak memory is read from /proc (Linux)", allow_module_level=True)

#: The most a command's peak memory may grow while it reads a big file.
MAX_GROWTH = 100 << 20
#: The default run's file: an array of this many bytes.
DEFAULT_BYTES = 150_000_000
#: The bigger files, with EMULPICKLE_BIG_FILES=1.
BIG_BYTES = 320_000_000
BIG = pytest.mark.skipif(
    os.environ.get("EMULPICKLE_BIG_FILES") != "1",
    reason="big files (about 300 MB each): set EMULPICKLE_BIG_FILES=1",
)
COMMANDS = [["scan"], ["dis"], ["dis", "--json"]]

# The peak resident set of this process (its VmHWM): ru_maxrss would not do,
# as Linux carries it over an exec, from the parent that forked it.
_CHILD = r"""
import os, sys
from emulpickle.cli import main

def peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    raise AssertionError("no VmHWM")

small, big, *command = sys.argv[1:]
with open(os.devnull, "w") as sink:
    sys.stdout = sink
    main([*command, small])  # imports everything: the baseline
    base = peak()
    status = main([*command, big])
    sys.stdout = sys.__stdout__
print(status, peak() - base)
"""


def _growth(tmp_path: Path, command: list[str], big: Path) -> int:
    """How much the peak memory of ``emulpickle COMMAND BIG`` grows, in bytes,
    over the same command on a small pickle in the same process."""
    small = tmp_path / "small.pkl"
    if not small.exists():
        small.write_bytes(pickle.dumps({"x": 1}, protocol=4))
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(small), str(big), *command],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1"),
    )
    assert proc.returncode == 0, proc.stderr
    status, growth = proc.stdout.split()
    assert status == "0", proc.stderr
    return int(growth)


def _array_pickle(path: Path, nbytes: int, protocol: int) -> Path:
    with open(path, "wb") as f:
        pickle.dump({"a": np.zeros(nbytes // 4, np.float32)}, f, protocol=protocol)
    return path


@pytest.fixture(scope="module")
def array_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("big")
    return _array_pickle(folder / "array.pkl", DEFAULT_BYTES, 5)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_pickle_holding_a_big_array(
    tmp_path: Path, array_file: Path, command: list[str]
) -> None:
    assert array_file.stat().st_size > DEFAULT_BYTES
    assert _growth(tmp_path, command, array_file) < MAX_GROWTH


def _torch_state(nbytes: int) -> dict[str, object]:
    torch = pytest.importorskip("torch")
    layers = 100  # the pickle naming them is longer than the first 4 KiB read
    return {
        f"layer{i}.weight": torch.zeros(nbytes // layers // 4) for i in range(layers)
    }


def _big_files(folder: Path) -> dict[str, Path]:
    """Every kind of big file, written by the real tools."""
    files = {
        "array-p4": _array_pickle(folder / "array4.pkl", BIG_BYTES, 4),
        "array-p5": _array_pickle(folder / "array5.pkl", BIG_BYTES, 5),
    }
    with open(folder / "bytes.pkl", "wb") as f:
        pickle.dump({"b": bytes(BIG_BYTES)}, f, protocol=4)
    files["bytes"] = folder / "bytes.pkl"
    with open(folder / "text.pkl", "wb") as f:
        pickle.dump({"s": "x" * BIG_BYTES}, f, protocol=4)
    files["text"] = folder / "text.pkl"
    # Under the scan's bound on one inflated member (MAX_INFLATED_MEMBER).
    np.savez_compressed(
        folder / "arrays.npz", a=np.arange(200_000_000 // 8) % 7, b=np.ones(10)
    )
    files["npz-deflated"] = folder / "arrays.npz"
    try:
        import torch
    except ImportError:
        return files
    state = _torch_state(BIG_BYTES)
    torch.save(state, folder / "legacy.pt", _use_new_zipfile_serialization=False)
    torch.save(state, folder / "zip.pt")
    files["torch-legacy"] = folder / "legacy.pt"
    files["torch-zip"] = folder / "zip.pt"
    return files


@BIG
def test_big_files_of_every_kind(tmp_path: Path) -> None:
    files = _big_files(tmp_path)
    grew = {
        (name, " ".join(command)): _growth(tmp_path, command, path)
        for name, path in files.items()
        for command in COMMANDS
        if not (name == "npz-deflated" and command[0] == "dis")  # no pickle
    }
    assert all(growth < MAX_GROWTH for growth in grew.values()), grew


def test_a_big_legacy_torch_checkpoint(tmp_path: Path) -> None:
    """Five pickles, then the storages: those are never read."""
    torch = pytest.importorskip("torch")
    path = tmp_path / "legacy.pt"
    torch.save(_torch_state(DEFAULT_BYTES), path, _use_new_zipfile_serialization=False)
    for command in (["scan"], ["dis"]):
        assert _growth(tmp_path, command, path) < MAX_GROWTH


# ------------------------------------------- what dis shows of a long argument


def test_dis_shows_a_long_argument_cut_with_its_size(tmp_path: Path) -> None:
    data = pickle.dumps([bytes(1 << 20), "y" * (1 << 17), b"z" * 100], protocol=5)
    listing = [format_instruction(ins) for ins in disassemble(data)]
    (raw,) = [line for line in listing if " BINBYTES " in line]
    assert raw.endswith(" b'" + "\\x00" * 8 + "\\x0...  # 1,048,576 bytes")
    (text,) = [line for line in listing if " BINUNICODE " in line]
    assert text.endswith(" '" + "y" * 36 + "...  # 131,072 bytes")
    (short,) = [line for line in listing if " SHORT_BINBYTES " in line]
    assert short.endswith("...  # 100 bytes")
    args = [ins.arg for ins in disassemble(data) if isinstance(ins.arg, Payload)]
    assert args == [
        Payload("bytes", 1 << 20, bytes(64)),
        Payload("str", 1 << 17, "y" * 64),
    ]
    path = tmp_path / "long.pkl"
    path.write_bytes(data)
    from emulpickle.cli import main

    out = subprocess.run(
        [sys.executable, "-m", "emulpickle", "dis", "--json", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    payloads = [
        ins["arg"]
        for ins in json.loads(out)["pickles"][0]["instructions"]
        if isinstance(ins["arg"], dict) and ins["arg"].get("$type") == "payload"
    ]
    assert [(p["type"], p["size"]) for p in payloads] == [
        ("bytes", 1 << 20),
        ("str", 1 << 17),
    ]
    assert payloads[1]["head"] == "y" * 64
    assert main(["dis", str(path)]) == 0


def test_dis_checks_a_long_string_is_utf8(tmp_path: Path) -> None:
    """As for a short one: the error names the opcode and its offset."""
    text = pickle.dumps("a" * (MAX_ARG_BYTES * 40), protocol=2)
    bad = bytearray(text)
    bad[-10] = 0xFF  # in the last chunk of the check
    listed = []
    with pytest.raises(Exception, match="not valid UTF-8") as caught:
        listed.extend(disassemble(bytes(bad)))
    assert getattr(caught.value, "offset", None) == 2
    assert [ins.opcode for ins in listed] == ["PROTO"]
    good = list(disassemble(text))
    assert good[-1].opcode == "STOP"
    assert good[1].arg == Payload("str", MAX_ARG_BYTES * 40, "a" * 64)
