"""Hostile trees and archives scanned as a hub scans them (discover, then
scan_target), each in a child process with its address space bounded and a
hang guard: path traversal names (zip, tar, 7z), symlinks out of the tree
and in loops, deflate and 7z bombs, archives nested past MAX_NESTING,
10,000-member zips. Every hostile pickle would create a canary file if run.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shlex
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from helpers.zip_builder import Record, deflated_zeros, zip_bytes

from emulpickle.scanner.containers import MAX_NESTING

MB = 1 << 20
ADDRESS_SPACE = 1536 * MB  # torch-free child: far below what a bomb inflates to
TIMEOUT = 60  # a hang guard, not a speed requirement

CHILD = r"""
import json, os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]),) * 2)
spec = json.loads(sys.argv[2])
from emulpickle import Limits
from emulpickle.scanner.filescan import scan_target
from emulpickle.scanner.targets import Target, discover
limits = Limits(**spec.get("limits", {}))
# The registry (every installed plugin: numpy, pandas, scikit-learn...) is
# built first, so that "growth" is what the scan itself grows the peak by.
from emulpickle.scanner.policy import scan_registry
scan_registry()
def _kib(field):
    with open("/proc/self/status") as status:
        return int([x for x in status if x.startswith(field)][0].split()[1])
base = _kib("VmHWM:")
out = {"results": [], "errors": []}
for item in discover(spec["paths"], follow_symlinks=spec.get("follow", False)):
    if isinstance(item, Target):
        out["results"].append(scan_target(item, limits=limits).to_dict())
    else:
        out["errors"].append([item.path, item.message])
out["growth"] = (_kib("VmHWM:") - base) * 1024
sys.stderr.write("\nCHILD " + json.dumps(out) + "\n")
"""


def _run(paths: list[Path], **spec: Any) -> dict[str, Any]:
    spec["paths"] = [str(p) for p in paths]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(ADDRESS_SPACE), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
    )
    lines = [x for x in proc.stderr.splitlines() if x.startswith("CHILD ")]
    assert proc.returncode == 0 and lines, proc.stderr[-2000:]
    return json.loads(lines[-1][len("CHILD ") :])  # type: ignore[no-any-return]


def _evil(canary: Path) -> bytes:
    command = f"touch {shlex.quote(str(canary))}"
    return b"\x80\x02cposix\nsystem\nX" + _u32(command) + b"\x85R."


def _u32(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<I", len(raw)) + raw


def _dangerous(result: dict[str, Any]) -> list[str]:
    return [f["where"] for f in result["findings"] if f["verdict"] == "dangerous"]


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    path = tmp_path / "canary"
    yield path
    assert not path.exists(), "a hostile pickle ran"


def test_path_traversal_names_in_a_zip(tmp_path: Path, canary: Path) -> None:
    root = tmp_path / "hub"
    root.mkdir()
    with zipfile.ZipFile(root / "m.zip", "w") as archive:
        archive.writestr("../../evil.pkl", _evil(canary))
        archive.writestr("/abs/evil.pkl", _evil(canary))
        archive.writestr("fine.pkl", pickle.dumps(1))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    [result] = _run([root])["results"]
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written
    assert not result["clean"]
    assert sum("path traversal" in e for e in result["errors"]) == 2
    # Scanned all the same, in memory.
    assert sorted(_dangerous(result)) == ["../../evil.pkl"]


def test_path_traversal_and_links_in_a_tar(tmp_path: Path, canary: Path) -> None:
    root = tmp_path / "hub"
    root.mkdir()
    data = _evil(canary)
    with tarfile.open(root / "escape.tar", "w", format=tarfile.GNU_FORMAT) as archive:
        info = tarfile.TarInfo("../evil.pkl")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    with tarfile.open(root / "links.tar", "w") as archive:
        link = tarfile.TarInfo("pickle")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    results = {Path(r["file"]).name: r for r in _run([root])["results"]}
    # torch's tar loader extracts: the reader refuses the name (unclean) ...
    escape = results["escape.tar"]
    assert not escape["clean"]
    assert any("unsafe tar member name" in e for e in escape["errors"])
    # ... and a link out of the archive is a dangerous finding, as before.
    links = results["links.tar"]
    assert [f["via"] for f in links["findings"]] == ["SYMLINK"]
    assert links["findings"][0]["verdict"] == "dangerous"


def _seven(path: Path, members: dict[str, bytes], rename: dict[str, str]) -> None:
    """A 7z written by py7zr, with member names py7zr refuses to write
    patched into its (plain) header, CRCs fixed."""
    py7zr = pytest.importorskip("py7zr")
    with py7zr.SevenZipFile(path, "w") as archive:
        archive.set_encoded_header_mode(False)
        for name, data in members.items():
            archive.writestr(data, name)
    raw = bytearray(path.read_bytes())
    for old, new in rename.items():
        before, after = old.encode("utf-16-le"), new.encode("utf-16-le")
        at = raw.index(before)
        raw[at : at + len(before)] = after
    offset, size = struct.unpack_from("<QQ", raw, 12)
    struct.pack_into("<I", raw, 28, zlib.crc32(raw[32 + offset : 32 + offset + size]))
    struct.pack_into("<I", raw, 8, zlib.crc32(raw[12:32]))
    path.write_bytes(raw)


def test_path_traversal_names_in_a_7z(tmp_path: Path, canary: Path) -> None:
    root = tmp_path / "hub"
    root.mkdir()
    _seven(
        root / "m.7z",
        {"aa/evil.pkl": _evil(canary), "ok.pkl": _evil(canary)},
        {"aa/evil.pkl": "../evil.pkl"},
    )
    [result] = _run([root])["results"]
    assert result["format"] == "7z" and not result["clean"]
    assert any("path traversal" in e for e in result["errors"])
    assert _dangerous(result) == ["ok.pkl"]


def test_symlinks_out_of_the_tree_and_loops(tmp_path: Path, canary: Path) -> None:
    root = tmp_path / "hub"
    (root / "a").mkdir(parents=True)
    outside = tmp_path / "outside.pkl"
    outside.write_bytes(_evil(canary))
    (root / "a" / "out").symlink_to(outside)
    (root / "a" / "etc").symlink_to("/etc")
    (root / "a" / "up").symlink_to("..")
    # Links to links: 2**20 paths to the bottom if each were walked.
    level = root / "fan"
    level.mkdir()
    for depth in range(20):
        nxt = root / f"fan{depth}"
        nxt.mkdir()
        (level / "x").symlink_to(nxt)
        (level / "y").symlink_to(nxt)
        level = nxt
    (level / "m.pkl").write_bytes(pickle.dumps(1))
    for follow in (False, True):
        out = _run([root], follow=follow)
        files = [Path(r["file"]).name for r in out["results"]]
        assert "outside.pkl" not in files and "passwd" not in files
        assert files.count("m.pkl") <= 2  # once in place, once through links
        messages = dict(out["errors"])
        assert "outside the tree" in messages[str(root / "a" / "out")]
        assert "outside the tree" in messages[str(root / "a" / "etc")]
        if follow:
            assert "loop" in messages[str(root / "a" / "up")]


def test_a_deflate_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    root.mkdir()
    payload = deflated_zeros(2048 * MB)  # about 2 MB of deflate
    (root / "bomb.zip").write_bytes(
        zip_bytes([Record("data.pkl", payload, method=8, size=2048 * MB)])
    )
    out = _run([root])
    [result] = out["results"]
    assert not result["clean"]
    assert any("zip bomb" in e or "more than" in e for e in result["errors"])
    assert out["growth"] < 600 * MB


def test_a_7z_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    py7zr = pytest.importorskip("py7zr")
    root = tmp_path / "hub"
    root.mkdir()
    zeros = tmp_path / "zeros"
    with open(zeros, "wb") as f:
        f.truncate(100 * MB)
    with py7zr.SevenZipFile(root / "bomb.7z", "w") as archive:
        archive.write(zeros, "zeros.pkl")
    zeros.unlink()
    out = _run([root])
    [result] = out["results"]
    assert not result["clean"]
    assert any("decompression bomb" in e for e in result["errors"])
    assert out["growth"] < 200 * MB


def test_a_7z_that_inflates_past_its_declared_sizes_stops_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, canary: Path
) -> None:
    """Declared sizes are the archive's word: inflating stops at them (here
    they are made to lie by shrinking what the scan takes them to be)."""
    py7zr = pytest.importorskip("py7zr")
    from emulpickle.scanner import sevenzip
    from emulpickle.scanner.filescan import scan_target
    from emulpickle.scanner.targets import Target

    path = tmp_path / "m.7z"
    with py7zr.SevenZipFile(path, "w") as archive:
        archive.writestr(_evil(canary) + os.urandom(2 * MB), "evil.pkl")
    real = sevenzip._declared

    def lying(*args: Any) -> dict[str, int] | None:
        caps = real(*args)
        return None if caps is None else {name: 1000 for name in caps}

    monkeypatch.setattr(sevenzip, "_declared", lying)
    result = scan_target(Target(str(path), path.stat().st_size))
    assert not result.clean
    assert any("inflates past its declared size" in e for e in result.errors)


def _nest(pickle_bytes: bytes, kinds: list[str]) -> bytes:
    """The pickle in archives, innermost first: zip, tar, 7z, gzip."""
    import gzip

    data, name = pickle_bytes, "evil.pkl"
    for kind in kinds:
        buf = io.BytesIO()
        if kind == "zip":
            with zipfile.ZipFile(buf, "w") as archive:
                archive.writestr(name, data)
        elif kind == "tar":
            with tarfile.open(fileobj=buf, mode="w") as archive:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        elif kind == "7z":
            py7zr = pytest.importorskip("py7zr")
            with py7zr.SevenZipFile(buf, "w") as archive:
                archive.writestr(data, name)
        else:
            buf.write(gzip.compress(data))
        data, name = buf.getvalue(), f"level{len(kinds)}.{kind}"
    return data


def test_archives_nested_past_the_limit(tmp_path: Path, canary: Path) -> None:
    root = tmp_path / "hub"
    root.mkdir()
    shallow = ["zip", "tar", "7z", "zip"][: MAX_NESTING + 1]
    (root / "shallow").write_bytes(_nest(_evil(canary), shallow))
    deep = ["zip", "tar", "zip", "7z", "gzip", "tar", "zip"] * 3
    (root / "deep").write_bytes(_nest(_evil(canary), deep))
    results = {Path(r["file"]).name: r for r in _run([root])["results"]}
    assert len(_dangerous(results["shallow"])) == 1
    assert not results["shallow"]["errors"]
    assert not results["deep"]["clean"]
    assert any(
        f"nested more than {MAX_NESTING}" in e for e in results["deep"]["errors"]
    )


def test_a_ten_thousand_member_zip(tmp_path: Path, canary: Path) -> None:
    root = tmp_path / "hub"
    root.mkdir()
    with zipfile.ZipFile(root / "many.zip", "w") as archive:
        for i in range(10_000):
            archive.writestr(f"m/{i:05}.pkl", pickle.dumps(i))
        archive.writestr("m/last.pkl", _evil(canary))
    out = _run([root])
    [result] = out["results"]
    assert _dangerous(result) == ["m/last.pkl"]
    assert not result["errors"]
    assert out["growth"] < 300 * MB
    # Past Limits.max_archive_members: refused, naming the limit.
    out = _run([root], limits={"max_archive_members": 5000})
    [result] = out["results"]
    assert not result["clean"]
    assert any("max_archive_members" in e for e in result["errors"])
