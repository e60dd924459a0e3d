"""Files the scanner used to call clean although a loader runs code from them.

* Polyglots: bytes that one loader reads as a pickle and another as a zip
  (or a tar): the scanner reads them every way a loader does.
* Archives the scanner could not read to the end (nested too deep, a central
  directory holding more or fewer entries than it says): never clean.
* Tar links: torch's tar loader extracts ``storages`` and follows a link to
  any file of the host.
* BUILD states that plant an emulation-protocol method or a dunder.
* Archives of very many members: bounded work and memory.

Attacks run in a child process (hang guard, bounded memory) with a canary
file that shows nothing ran; "control" tests show, with the real loaders,
that each reading the scanner now covers is one a loader really makes.
"""

from __future__ import annotations

import collections
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tarfile
import types
import zipfile
from pathlib import Path

import pytest

import emulpickle
from emulpickle import protocols
from emulpickle.protocols import PROTOCOL_METHODS
from emulpickle.scan import scan

HANG = 60  # seconds: a hang guard, not a speed goal


def _u(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def _touch(marker: str, protocol: int = 0) -> bytes:
    """A pickle that, under pickle.load, creates ``marker`` (os.system)."""
    command = f"touch {marker}"
    if protocol == 0:
        return b"cos\nsystem\n(S'" + command.encode() + b"'\ntR."
    return b"\x80\x02cposix\nsystem\n" + _u(command) + b"\x85R."


def _torch_zip() -> bytes:
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save({"w": torch.arange(3)}, buf)
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _tar(
    members: dict[str, bytes],
    specials: dict[str, tuple[bytes, str]] | None = None,
    fmt: int = tarfile.PAX_FORMAT,
) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:", format=fmt) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, (kind, target) in (specials or {}).items():
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            archive.addfile(info)
    return buf.getvalue()


_CHILD = """
import json, resource, sys
limit = 2 << 30
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import emulpickle
from emulpickle.scan import scan
path = sys.argv[1]
report = scan(path)
for unknown in ("error", "generic"):
    try:
        with open(path, "rb") as f:
            emulpickle.load(f, unknown=unknown)
    except emulpickle.UnpicklingError:
        pass
print(json.dumps(report.to_dict()))
"""


def _scan_in_child(data: bytes, tmp_path: Path) -> dict[str, object]:
    """Scan ``data`` (and load it with emulpickle) in a child process, whose
    working directory holds the canary the payloads name (``pwned``)."""
    path = tmp_path / "input.bin"
    path.write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        cwd=tmp_path,
        timeout=HANG,
        capture_output=True,
        check=True,
    )
    assert not (tmp_path / "pwned").exists()
    report: dict[str, object] = json.loads(done.stdout)
    return report


def _dangerous(report: dict[str, object]) -> list[str]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return [
        f"{f['module']}.{f['name']}@{f['where']}"
        for f in findings
        if f["verdict"] == "dangerous"
    ]


# --- polyglots ---------------------------------------------------------------


@pytest.mark.parametrize("protocol", [0, 2])
def test_pickle_before_a_torch_zip(protocol: int, tmp_path: Path) -> None:
    """torch.load(weights_only=False), pickle.load, numpy.load(allow_pickle)
    and joblib.load run the leading pickle (see the control test); zipfile
    reads the torch zip behind it (ZIP64 records and all): both are scanned."""
    report = _scan_in_child(_touch("pwned", protocol) + _torch_zip(), tmp_path)
    assert not report["clean"]
    module = "os" if protocol == 0 else "posix"
    assert _dangerous(report) == [f"{module}.system@pickle #1"]
    findings = report["findings"]
    assert isinstance(findings, list)
    wheres = {f["where"] for f in findings}
    assert any(str(w).endswith("/data.pkl") for w in wheres), wheres
    assert report["errors"] == []  # the pickle walk ends where the zip starts


def test_benign_pickle_before_a_clean_zip_is_clean() -> None:
    report = scan(b"\x80\x02K\x01." + _torch_zip())
    assert report.clean, report


def test_zip_after_a_pickle_is_scanned() -> None:
    """A benign pickle, then a zip with a hostile member that zipfile reads."""
    zipped = _zip({"evil.pkl": _touch("pwned", 2)})
    for data in (b"\x80\x02K\x01." + zipped, b"K\x01." + zipped):
        report = scan(data)
        assert [f.where for f in report.dangerous] == ["evil.pkl"], report


def test_tar_whose_first_header_is_a_pickle(tmp_path: Path) -> None:
    """The first member's name is a whole pickle: torch.load reads a tar,
    pickle.load (and joblib.load) the name."""
    payload = _touch("pwned")
    data = _tar({payload.decode(): b"benign"}, fmt=tarfile.USTAR_FORMAT)
    report = _scan_in_child(data, tmp_path)
    assert _dangerous(report) == ["os.system@pickle #1"]


def test_zip_appended_to_npy_and_to_zip() -> None:
    """zipfile finds a zip by its end record, whatever comes first: an .npy
    (numpy.load reads the array), another zip (readers take the last one)."""
    hostile = _zip({"evil.pkl": _touch("pwned", 2)})
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }"
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\0" * 8
    assert [f.where for f in scan(npy + hostile).dangerous] == ["evil.pkl"]
    two = hostile + _zip({"fine.pkl": b"\x80\x02K\x01."})
    report = scan(two)
    assert [f.where for f in report.dangerous] == [
        f"<zip ending at offset {len(hostile)}>/evil.pkl"
    ]


def test_polyglot_readings_are_real_control(tmp_path: Path) -> None:
    """Control: with the real loaders, the leading pickle of a pickle+zip
    polyglot runs (torch.load, pickle.load, numpy.load, joblib.load); a
    pickle appended to a zip does not (no loader reads past a zip's start:
    pickle.load fails at once), so the scanner does not report it."""
    pytest.importorskip("joblib")
    zipped = _torch_zip()
    script = """
import os, pickle, sys, warnings
import joblib, numpy, torch
warnings.simplefilter("ignore")
loaders = {
    "torch": lambda p: torch.load(p, weights_only=False),
    "pickle": lambda p: pickle.load(open(p, "rb")),
    "numpy": lambda p: numpy.load(p, allow_pickle=True),
    "joblib": joblib.load,
}
ran = {}
for path in sys.argv[1:]:
    for name, load in loaders.items():
        if os.path.exists("pwned"):
            os.remove("pwned")
        try:
            load(path)
        except Exception:
            pass
        ran[f"{os.path.basename(path)} {name}"] = os.path.exists("pwned")
print(ran)
"""
    (tmp_path / "lead.bin").write_bytes(_touch("pwned") + zipped)
    (tmp_path / "tail.bin").write_bytes(zipped + _touch("pwned", 2))
    done = subprocess.run(
        [sys.executable, "-c", script, "lead.bin", "tail.bin"],
        cwd=tmp_path,
        timeout=HANG * 2,
        capture_output=True,
        check=True,
        text=True,
    )
    ran = eval(done.stdout)  # a dict of str -> bool, printed by the child
    assert all(v for k, v in ran.items() if k.startswith("lead")), ran
    assert not any(v for k, v in ran.items() if k.startswith("tail")), ran
    assert scan(zipped + _touch("pwned", 2)).clean


# --- archives not read to the end -----------------------------------------------


def test_archive_nested_past_the_depth_cap_is_not_clean() -> None:
    data = _zip({"evil.pkl": _touch("pwned", 2)})
    for depth in range(5):
        data = _zip({f"level{depth}.zip": data})
    report = scan(data)
    assert not report.clean
    assert any("nested more than" in e for e in report.errors), report.errors


def test_tar_inside_a_zip_is_scanned() -> None:
    data = _zip({"old.tar": _tar({"evil.pkl": _touch("pwned", 2)})})
    report = scan(data)
    assert [f.where for f in report.dangerous] == ["old.tar/evil.pkl"]


def _central_count(data: bytes, count: int) -> bytes:
    """``data`` with its end record declaring ``count`` entries."""
    raw = bytearray(data)
    eocd = raw.rindex(b"PK\x05\x06")
    raw[eocd + 8 : eocd + 12] = struct.pack("<HH", count, count)
    return bytes(raw)


def test_central_directory_holding_more_entries_than_it_lists() -> None:
    """zipfile (so numpy.load of an .npz) reads every entry in the central
    directory; a reader that stops at the declared count misses the rest."""
    data = _central_count(
        _zip({"fine.pkl": b"\x80\x02K\x01.", "evil.pkl": _touch("pwned", 2)}), 1
    )
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["fine.pkl", "evil.pkl"]
    report = scan(data)
    assert not report.clean
    assert any("more entries than the 1 it lists" in e for e in report.errors)


def test_central_directory_listing_more_entries_than_are_read() -> None:
    """A reader that stops early (a member cap, a broken entry): not clean."""
    data = _central_count(_zip({"fine.pkl": b"\x80\x02K\x01."}), 3)
    report = scan(data)
    assert not report.clean
    # The bounded reader refuses the miscounted directory outright (before,
    # the scanner compared the count with what was read); either way the
    # verdict is "not clean" and the error names the central directory.
    assert any("central directory" in e for e in report.errors)


# --- tar links --------------------------------------------------------------------

_TORCH_TAR = {
    "sys_info": pickle.dumps({}, protocol=2),
    "pickle": pickle.dumps(1, protocol=2),
    "tensors": pickle.dumps(0, protocol=2),
}


@pytest.mark.parametrize(
    ("kind", "target", "verdict"),
    [
        (tarfile.SYMTYPE, "/etc/passwd", "dangerous"),
        (tarfile.SYMTYPE, "../../home/user/.cache/model.pkl", "dangerous"),
        (tarfile.SYMTYPE, "sub/../../x", "dangerous"),
        (tarfile.LNKTYPE, "/etc/passwd", "dangerous"),
        (tarfile.LNKTYPE, "../x", "dangerous"),
        (tarfile.SYMTYPE, "pickle", "unknown"),
        (tarfile.FIFOTYPE, "", "unknown"),
    ],
)
def test_tar_links_and_special_files(kind: bytes, target: str, verdict: str) -> None:
    report = scan(_tar(_TORCH_TAR, {"storages": (kind, target)}))
    assert not report.clean
    [finding] = [f for f in report.findings if f.verdict != "safe"]
    assert (finding.verdict, finding.where) == (verdict, "storages")
    assert finding.via in ("SYMLINK", "HARDLINK", "SPECIAL")


def test_tar_link_is_followed_by_torch_control(tmp_path: Path) -> None:
    """Control: torch.load extracts a ``storages`` symlink and unpickles the
    host file it points to; the scanner calls the link dangerous."""
    pytest.importorskip("torch")
    host = tmp_path / "host.pkl"
    host.write_bytes(_touch("pwned"))
    data = _tar(_TORCH_TAR, {"storages": (tarfile.SYMTYPE, str(host))})
    (tmp_path / "link.tar").write_bytes(data)
    script = (
        "import torch\n"
        "try:\n"
        "    torch.load('link.tar', weights_only=False)\n"
        "except Exception:\n"
        "    pass\n"
    )
    subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, timeout=HANG * 2, check=True
    )
    assert (tmp_path / "pwned").exists()
    (tmp_path / "pwned").unlink()
    report = _scan_in_child(data, tmp_path)
    assert [f["via"] for f in report["findings"] if f["verdict"] == "dangerous"] == [  # type: ignore[attr-defined]
        "SYMLINK"
    ]


# --- BUILD states planting behaviour ---------------------------------------------

_P = b"\x80\x04"
_NS = b"ctypes\nSimpleNamespace\n)\x81"  # NEWOBJ


def _targets() -> dict[str, bytes]:
    return {
        "SimpleNamespace": _NS,
        "argparse.Namespace": b"cargparse\nNamespace\n)R",
        "OrderedDict": b"ccollections\nOrderedDict\n)R",
        "Counter": b"ccollections\nCounter\n)R",
        "INST": b"(iargparse\nNamespace\n",
        "OBJ": b"(cargparse\nNamespace\no",
    }


_NAMES = [
    *sorted(PROTOCOL_METHODS),
    "__reduce__",
    "__setstate__",
    "__call__",
    "__class__",
    "__dict__",
    "__getattr__",
    "__x__",
]


def _states(name: str) -> dict[str, bytes]:
    """Ways a pickle builds a state (pushed on the stack) that sets ``name``."""
    key = _u(name)
    text = name.encode()
    return {
        "SETITEMS": b"}(" + _u("a") + b"N" + key + b"cbuiltins\nprint\nu",
        "SETITEM": b"}" + key + b"Ns",
        "DICT": b"(" + _u("a") + b"N" + key + b"Nd",
        "protocol 0 DICT": b"(dS'" + text + b"'\nNs",
        "UNICODE key": b"(V" + text + b"\nNd",
        "slot state": b"N}" + key + b"Ns\x86",
        "slot state by TUPLE": b"(}" + key + b"NsNt",
        "memo alias": b"}\x94" + b"h\x00" + key + b"Ns0",
    }


@pytest.mark.parametrize("name", _NAMES)
def test_build_state_naming_a_protocol_method_or_dunder(name: str) -> None:
    for shape, state in _states(name).items():
        prefix = b""
        if shape == "memo alias":  # the dict is filled through the memo
            prefix, state = state, b"h\x00"
        for target, make in _targets().items():
            data = _P + prefix + make + state + b"b."
            report = scan(data)
            assert not report.clean, (shape, target)
            planted = [f for f in report.findings if f.via == "BUILD"]
            assert [(f.name, f.verdict) for f in planted] == [(name, "dangerous")], (
                shape,
                target,
                report,
            )


def test_build_state_made_at_load_time_is_not_clean() -> None:
    made = {
        "OrderedDict as state": b"ccollections\nOrderedDict\n)R",
        "dict(pairs) as state": (
            b"cbuiltins\ndict\n]" + _u("py_call") + b"N\x86a\x85R"
        ),
        "a key made by a call": b"}cbuiltins\nstr\n" + _u("x") + b"\x85RNs",
        "made slot state": b"Nccollections\nOrderedDict\n)R\x86",
    }
    for shape, state in made.items():
        report = scan(_P + _NS + state + b"b.")
        assert [(f.name, f.verdict) for f in report.findings if f.via == "BUILD"] == [
            (None, "unknown")
        ], shape
        assert not report.clean


def test_real_pickles_with_planted_and_benign_states() -> None:
    planted = types.SimpleNamespace(py_call=print, __call__=1)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        report = scan(pickle.dumps(planted, protocol=protocol))
        assert {f.name for f in report.findings if f.via == "BUILD"} == {"py_call"}, (
            protocol
        )
    benign: list[object] = [
        types.SimpleNamespace(a=1, b=[1]),
        collections.OrderedDict(a=1),
        collections.Counter("abc"),
        collections.defaultdict(list, a=[1]),
    ]
    try:
        import argparse

        import pandas

        benign += [
            argparse.Namespace(x=1),
            pandas.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
            pandas.Series(["a", "b"], dtype="category"),
        ]
    except ImportError:
        pass
    for value in benign:
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            report = scan(pickle.dumps(value, protocol=protocol))
            assert not [f for f in report.findings if f.via == "BUILD"], value


def test_build_state_in_a_joblib_file() -> None:
    joblib = pytest.importorskip("joblib")
    numpy = pytest.importorskip("numpy")
    buf = io.BytesIO()
    joblib.dump({"a": numpy.arange(3), "ns": types.SimpleNamespace(py_add=1)}, buf)
    report = scan(buf.getvalue())
    assert [(f.name, f.verdict) for f in report.findings if f.via == "BUILD"] == [
        ("py_add", "dangerous")
    ]


def test_protocol_methods_are_the_protocols() -> None:
    names = {
        name
        for cls in vars(protocols).values()
        if isinstance(cls, type)
        for name in vars(cls)
        if name.startswith("py_")
    }
    assert names == PROTOCOL_METHODS


def test_planted_state_never_runs(tmp_path: Path) -> None:
    """The attack the check is for: BUILD plants py_call, REDUCE calls it."""
    call = b"cos\nsystem\n"
    data = (
        _P + _NS + b"}" + _u("py_call") + call + b"sb" + _u("touch pwned") + b"\x85R."
    )
    report = _scan_in_child(data, tmp_path)
    findings = report["findings"]
    assert isinstance(findings, list)
    assert {(f["via"], f["name"]) for f in findings if f["verdict"] == "dangerous"} == {
        ("BUILD", "py_call"),
        ("GLOBAL", "system"),
    }
    with pytest.raises(emulpickle.UnpicklingError):
        emulpickle.loads(data)


# --- many members ---------------------------------------------------------------


def test_many_members_are_bounded(tmp_path: Path) -> None:
    """50,000 members each naming a global: one finding that counts them,
    in bounded memory (a child with a 1 GiB address-space limit)."""
    path = tmp_path / "many.zip"
    member = b"\x80\x02cmymodule\nThing\n)R."
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(50_000):
            archive.writestr(f"m{i}.pkl", member)
    script = (
        "import json, resource, sys, tracemalloc\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from emulpickle.scan import scan\n"
        "tracemalloc.start()\n"
        "report = scan(sys.argv[1])\n"
        "peak = tracemalloc.get_traced_memory()[1]\n"
        "print(json.dumps({'peak': peak, **report.to_dict()}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        timeout=HANG * 2,
        capture_output=True,
        check=True,
    )
    report = json.loads(done.stdout)
    assert [(f["module"], f["name"]) for f in report["findings"]] == [
        ("mymodule", "Thing")
    ]
    assert "50000 times in 50000 places" in report["findings"][0]["note"]
    assert report["peak"] < 64 << 20, report["peak"]
    assert os.path.getsize(path) > 4 << 20  # (the archive is not trivially small)
