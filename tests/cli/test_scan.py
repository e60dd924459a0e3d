"""``emulpickle scan``: exit codes, ordering and JSON output."""

from __future__ import annotations

import importlib.util
import io
import json
import pickle
import tarfile
import types
from pathlib import Path

import pytest
from helpers.cli_runner import assert_error, run

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("emulpickle.scan") is None,
    reason="emulpickle.scan (the scanner module) is not available yet",
)

EVIL = b"cos\nsystem\n(S'echo hi'\ntR."


def test_scan_clean(tmp_path: Path) -> None:
    path = tmp_path / "ok.pkl"
    path.write_bytes(pickle.dumps({"a": [1, 2]}))
    proc = run("scan", path)
    assert proc.returncode == 0, proc.stderr
    assert f"{path}: clean" in proc.stdout


def test_scan_dangerous_first(tmp_path: Path) -> None:
    ok = tmp_path / "ok.pkl"
    ok.write_bytes(pickle.dumps({"a": 1}))
    evil = tmp_path / "evil.pkl"
    # an unknown global, then a dangerous one
    evil.write_bytes(b"(cmy.module\nThing\n)Rcos\nsystem\n(S'x'\ntRl.")
    proc = run("scan", ok, evil)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert f"{evil}: NOT CLEAN" in lines
    findings = [line.split()[0] for line in lines if line.startswith("  ")]
    assert findings[0] == "dangerous"
    assert "os.system" in proc.stdout
    assert "my.module.Thing" in proc.stdout


def test_scan_json(tmp_path: Path) -> None:
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(EVIL)
    proc = run("scan", "--json", evil)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["clean"] is False
    assert data["files"][0]["file"] == str(evil)


def test_scan_unreadable(tmp_path: Path) -> None:
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(EVIL)
    proc = run("scan", evil, tmp_path / "missing.pkl")
    assert proc.returncode == 2
    assert proc.stderr.startswith("emulpickle: error: ")
    assert_error(run("scan", tmp_path / "missing.pkl"), 2)


def test_scan_does_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(f"cos\nsystem\n(S'touch {marker}'\ntR.".encode())
    assert run("scan", path).returncode == 1
    assert not marker.exists()


def test_scan_shows_build_keys_and_tar_links(tmp_path: Path) -> None:
    """Findings that are no global read as what they are, with exit 1."""
    planted = tmp_path / "planted.pkl"
    planted.write_bytes(pickle.dumps(types.SimpleNamespace(py_call=1)))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:") as archive:
        info = tarfile.TarInfo("storages")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        archive.addfile(info)
    linked = tmp_path / "linked.tar"
    linked.write_bytes(buf.getvalue())
    proc = run("scan", planted, linked)
    assert proc.returncode == 1, proc.stderr
    assert "dangerous <BUILD state key 'py_call'> (BUILD at offset" in proc.stdout
    assert "dangerous <tar symlink> (SYMLINK at offset 0 in storages)" in proc.stdout
    assert "None.None" not in proc.stdout
