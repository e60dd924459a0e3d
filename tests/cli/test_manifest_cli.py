"""``emulpickle manifest freeze|check|add|remove`` on files the real tools wrote."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

from emulpickle.cli import main
from emulpickle.guard import hashing

np = pytest.importorskip("numpy")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("EMULPICKLE_NO_HASH_CACHE", raising=False)
    return cache / "emulpickle" / "hashes.json"


def _tree(root: Path) -> dict[str, Path]:
    """Pickle-bearing files in nested directories, plus files that are not."""
    (root / "models" / "deep").mkdir(parents=True)
    (root / "data").mkdir()
    files = {
        "raw": root / "data" / "a.bin",  # no .pkl: recognised by content
        "p0": root / "data" / "old.pkl",
        "npy": root / "data" / "objects.npy",
        "npz": root / "models" / "deep" / "arrays.npz",
    }
    with open(files["raw"], "wb") as f:
        pickle.dump({"a": [1, 2]}, f)
        pickle.dump("stacked", f)
    files["p0"].write_bytes(pickle.dumps([1, "x"], protocol=0))
    np.save(files["npy"], np.array([{"k": 1}, None], dtype=object), allow_pickle=True)
    np.savez(files["npz"], a=np.array([{}], dtype=object), b=np.arange(3))
    # Not pickles: numeric arrays, text, an empty file.
    np.save(root / "data" / "numbers.npy", np.arange(4))
    np.savez(root / "data" / "numbers.npz", a=np.arange(4))
    (root / "README.txt").write_text("hello world\n")
    (root / "empty.pkl").write_bytes(b"")
    # A symlink to a pickle outside the tree: not followed.
    outside = root.parent / "outside.pkl"
    outside.write_bytes(pickle.dumps({"outside": True}))
    (root / "models" / "link.pkl").symlink_to(outside)
    try:
        import torch

        files["torch"] = root / "models" / "model.pt"
        torch.save({"w": torch.ones(2)}, files["torch"])
    except ImportError:
        pass
    try:
        import joblib

        files["joblib"] = root / "models" / "est.joblib"
        joblib.dump({"x": np.arange(5)}, files["joblib"])
        files["joblib-z"] = root / "models" / "est-z.joblib"
        joblib.dump({"x": np.arange(5)}, files["joblib-z"], compress=3)
    except ImportError:
        pass
    return files


def test_freeze_check_modify(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    files = _tree(root)
    lock = root / "pickles.lock"
    assert main(["manifest", "freeze", str(root), "-o", str(lock)]) == 0
    assert f"pinned {len(files)} pickle files" in capsys.readouterr().out
    doc = json.loads(lock.read_text())
    paths = [e["path"] for e in doc["pickles"]]
    expected = sorted(p.relative_to(root).as_posix() for p in files.values())
    assert paths == expected  # relative, sorted; no symlink, no non-pickles
    assert all(len(e["sha256"]) == 64 and e["size"] > 0 for e in doc["pickles"])

    assert main(["manifest", "check", str(root), "-m", str(lock)]) == 0
    assert f"all {len(files)} pickle files pinned" in capsys.readouterr().out

    with open(files["p0"], "ab") as f:
        f.write(b"trailing bytes pickle.load never reads")
    assert main(["manifest", "check", str(root), "-m", str(lock)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"changed: {files['p0']} (pickle, sha256:{hashing.sha256_file(files['p0'])})"
    ]
    assert "1 of" in err and "manifest add PATH" in err
    # Adding the new version replaces the old one's entry.
    assert main(["manifest", "add", str(files["p0"]), "-m", str(lock)]) == 0
    assert main(["manifest", "check", str(root), "-m", str(lock)]) == 0
    assert len(json.loads(lock.read_text())["pickles"]) == len(files)


def test_freeze_is_deterministic(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    _tree(root)
    assert main(["manifest", "freeze", str(root), "-o", str(root / "a.lock")]) == 0
    assert main(["manifest", "freeze", str(root), "-o", str(root / "b.lock")]) == 0
    assert (root / "a.lock").read_bytes() == (root / "b.lock").read_bytes()


def test_add_remove_note_trust(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    files = _tree(root)
    lock = str(root / "pickles.lock")
    raw = str(files["raw"])
    assert (
        main(["manifest", "add", raw, "-m", lock, "--note", "ok", "--trust", "pickle"])
        == 0
    )
    entries = json.loads(Path(lock).read_text())["pickles"]
    assert entries == [
        {
            "sha256": hashing.sha256_file(raw),
            "path": "data/a.bin",
            "size": os.path.getsize(raw),
            "note": "ok",
            "trust": "pickle",
        }
    ]
    assert main(["manifest", "check", str(root / "data"), "-m", lock]) == 1
    assert main(["manifest", "add", str(root / "data"), "-m", lock]) == 0
    assert main(["manifest", "check", str(root / "data"), "-m", lock]) == 0
    # Re-adding keeps the note and trust.
    assert json.loads(Path(lock).read_text())["pickles"][0]["note"] == "ok"
    capsys.readouterr()
    assert main(["manifest", "remove", raw, "-m", lock]) == 0
    assert main(["manifest", "check", str(root / "data"), "-m", lock]) == 1
    digest = hashing.sha256_file(files["npy"])
    assert main(["manifest", "remove", f"sha256:{digest.upper()}", "-m", lock]) == 0
    assert main(["manifest", "remove", f"sha256:{digest}", "-m", lock]) == 1
    assert len(json.loads(Path(lock).read_text())["pickles"]) == 1
    capsys.readouterr()
    assert main(["manifest", "add", str(root / "README.txt"), "-m", lock]) == 0
    assert "README.txt: holds no pickle, not pinned" in capsys.readouterr().err


def test_unreadable_manifest_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.lock"
    bad.write_text('{"emulpickle-manifest": 7}')
    assert main(["manifest", "check", str(tmp_path), "-m", str(bad)]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("emulpickle: error: ")
        and "unsupported manifest version 7" in err
    )
    assert main(["manifest", "check", str(tmp_path), "-m", str(tmp_path / "no")]) == 2


def test_second_check_uses_the_hash_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _private_cache: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    files = _tree(root)
    old = 1_600_000_000  # older than the "racy" window: cacheable
    for path in files.values():
        os.utime(path, (old, old))
    lock = str(root / "pickles.lock")
    assert main(["manifest", "freeze", str(root), "-o", lock]) == 0
    cached = json.loads(_private_cache.read_text())["hashes"]
    assert sorted(cached.values()) == sorted(
        e["sha256"] for e in json.loads(Path(lock).read_text())["pickles"]
    )
    reads: list[int] = []
    real = hashing.hashlib.sha256
    monkeypatch.setattr(
        hashing.hashlib, "sha256", lambda *a: reads.append(1) or real(*a)
    )
    assert main(["manifest", "check", str(root), "-m", lock]) == 0
    assert reads == []
    monkeypatch.setenv("EMULPICKLE_NO_HASH_CACHE", "1")
    assert main(["manifest", "check", str(root), "-m", lock]) == 0
    assert len(reads) == len(files)


def test_subprocess_exit_codes_and_completion(tmp_path: Path) -> None:
    from helpers.cli_runner import run

    (tmp_path / "a.pkl").write_bytes(pickle.dumps(1))
    lock = tmp_path / "p.lock"
    assert run("manifest", "freeze", tmp_path, "-o", lock).returncode == 0
    assert run("manifest", "check", tmp_path, "-m", lock).returncode == 0
    (tmp_path / "b.pkl").write_bytes(pickle.dumps(2))
    proc = run("manifest", "check", tmp_path, "-m", lock)
    assert proc.returncode == 1 and "b.pkl" in proc.stdout
    script = run("completion", "bash").stdout
    assert "manifest)" in script and "freeze check add remove" in script
