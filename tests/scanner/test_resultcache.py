"""The scan result cache: hits cost a stat, changes miss, a broken cache is ignored."""

from __future__ import annotations

import os
import pickle
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.hubtree import age, make_tree

from emulpickle import Limits
from emulpickle.scanner import engine
from emulpickle.scanner.engine import scan_paths
from emulpickle.scanner.filescan import FileResult
from emulpickle.scanner.resultcache import CacheWarning, ResultCache
from emulpickle.scanner.targets import Target


def report(results: Any) -> list[dict[str, Any]]:
    return sorted((r.to_dict() for r in results), key=lambda d: d["file"])


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths scan_target was called for (the cache misses)."""
    calls: list[str] = []
    real = engine.scan_target

    def counting(target: Target, **kwargs: Any) -> FileResult:
        calls.append(target.path)
        return real(target, **kwargs)

    monkeypatch.setattr(engine, "scan_target", counting)
    return calls


def test_second_scan_is_answered_by_the_cache(
    tmp_path: Path, scans: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "hub"
    expected = make_tree(root)
    cache = tmp_path / "cache"
    first = report(scan_paths([str(root)], jobs=1, cache_dir=cache))
    assert len(scans) == len(expected)
    scans.clear()

    def no_pool(jobs: int) -> Any:
        raise AssertionError("a warm re-scan must not start workers")

    monkeypatch.setattr(engine, "_local_pool", no_pool)
    stream = scan_paths([str(root)], jobs=2, cache_dir=cache)
    second = report(stream)
    assert scans == []
    assert stream.cached == len(expected)
    assert second == first
    assert (cache / "scan-cache.sqlite3").stat().st_mode & 0o777 == 0o600


def test_a_changed_file_is_scanned_again(tmp_path: Path, scans: list[str]) -> None:
    """Same size, new content and mtime: a miss, and the new verdict."""
    path = tmp_path / "m.pkl"
    ok = pickle.dumps({"k": "abcdefghijklm"}, protocol=2)
    evil = b"\x80\x02cos\nsystem\n" + b"N" * (len(ok) - 14) + b"."
    assert len(evil) == len(ok)
    path.write_bytes(ok)
    age(tmp_path, 200)
    cache = tmp_path / "cache"
    (before,) = scan_paths([str(path)], jobs=1, cache_dir=cache)
    assert before.clean
    path.write_bytes(evil)
    age(tmp_path, 100)
    scans.clear()
    (after,) = scan_paths([str(path)], jobs=1, cache_dir=cache)
    assert scans == [str(path)]
    assert not after.clean
    assert after.sha256 != before.sha256


def test_a_file_changed_just_now_is_not_cached(
    tmp_path: Path, scans: list[str]
) -> None:
    path = tmp_path / "fresh.pkl"
    path.write_bytes(pickle.dumps([1, 2]))
    cache = tmp_path / "cache"
    list(scan_paths([str(path)], jobs=1, cache_dir=cache))
    list(scan_paths([str(path)], jobs=1, cache_dir=cache))
    assert scans == [str(path), str(path)]


def test_other_limits_miss(tmp_path: Path, scans: list[str]) -> None:
    path = tmp_path / "a.pkl"
    path.write_bytes(pickle.dumps([1, 2]))
    age(tmp_path)
    cache = tmp_path / "cache"
    list(scan_paths([str(path)], jobs=1, cache_dir=cache))
    list(
        scan_paths(
            [str(path)], jobs=1, cache_dir=cache, limits=Limits(max_mark_depth=7)
        )
    )
    list(scan_paths([str(path)], jobs=1, cache_dir=cache))
    assert len(scans) == 2


def test_corrupt_cache_is_ignored(tmp_path: Path, scans: list[str]) -> None:
    root = tmp_path / "hub"
    expected = make_tree(root)
    cache = tmp_path / "cache"
    good = report(scan_paths([str(root)], jobs=1, cache=False))
    cache.mkdir(mode=0o700)
    db = cache / "scan-cache.sqlite3"
    db.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    db.chmod(0o600)
    scans.clear()
    with pytest.warns(CacheWarning, match="not used"):
        got = report(scan_paths([str(root)], jobs=1, cache_dir=cache))
    assert got == good
    assert len(scans) == len(expected)


def test_tampered_rows_are_misses(tmp_path: Path, scans: list[str]) -> None:
    """A row that is not a valid result for its sha256 is never returned."""
    path = tmp_path / "evil.pkl"
    path.write_bytes(b"cos\nsystem\n(S'x'\ntR.")
    age(tmp_path)
    cache = tmp_path / "cache"
    (real,) = scan_paths([str(path)], jobs=1, cache_dir=cache)
    db = sqlite3.connect(cache / "scan-cache.sqlite3")
    clean = real.replace(findings=[]).to_dict()
    forged = {**clean, "sha256": "0" * 64}
    for text in ["{not json", '{"file": 1}', __import__("json").dumps(forged)]:
        db.execute("UPDATE results SET result = ?", (text,))
        db.commit()
        scans.clear()
        (again,) = scan_paths([str(path)], jobs=1, cache_dir=cache)
        assert scans == [str(path)]
        assert again == real
    db.close()


def test_cache_not_the_users_is_not_used(tmp_path: Path) -> None:
    path = tmp_path / "a.pkl"
    path.write_bytes(pickle.dumps(1))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "scan-cache.sqlite3").write_bytes(b"")
    (cache / "scan-cache.sqlite3").chmod(0o666)
    with pytest.warns(CacheWarning, match="writable by others"):
        (result,) = scan_paths([str(path)], jobs=1, cache_dir=cache)
    assert result.clean


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "a.pkl"
    path.write_bytes(pickle.dumps(1))
    cache = tmp_path / "cache"
    list(scan_paths([str(path)], jobs=1, cache=False, cache_dir=cache))
    assert not cache.exists()


def test_concurrent_scans_share_the_cache(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    make_tree(root, copies=20)
    cache = tmp_path / "cache"
    good = report(scan_paths([str(root)], jobs=1, cache=False))
    out: list[list[dict[str, Any]]] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            out.append(report(scan_paths([str(root)], jobs=1, cache_dir=cache)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert out == [good] * 4
    assert len(ResultCache(cache, "x")) == 0  # another version sees nothing...
    stream = scan_paths([str(root)], jobs=1, cache_dir=cache)
    assert report(stream) == good
    assert stream.cached == len(good)  # ...this one everything


def test_warm_rescan_costs_a_stat(tmp_path: Path, scans: list[str]) -> None:
    """1,000 unchanged files: no file is opened again (no time threshold)."""
    root = tmp_path / "many"
    root.mkdir()
    for i in range(1000):
        (root / f"{i:04}.pkl").write_bytes(pickle.dumps({"i": i}))
    age(root)
    cache = tmp_path / "cache"
    list(scan_paths([str(root)], jobs=1, cache_dir=cache))
    scans.clear()
    started = time.perf_counter()
    stream = scan_paths([str(root)], jobs=2, cache_dir=cache)
    assert sum(r.clean for r in stream) == 1000
    print(f"warm re-scan of 1000 files: {time.perf_counter() - started:.3f} s")
    assert scans == []


def test_a_sharded_checkpoint_is_cached_until_a_shard_changes(
    tmp_path: Path, scans: list[str]
) -> None:
    """Index and shards together: a warm re-scan starts nothing, and a
    shard rewritten (same size, now hostile) is scanned again."""
    import json

    model = tmp_path / "model"
    model.mkdir()
    shards = ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"]
    ok = pickle.dumps({"w": "abcdefghijklm"}, protocol=2)
    evil = b"\x80\x02cos\nsystem\n" + b"N" * (len(ok) - 14) + b"."
    for name in shards:
        (model / name).write_bytes(ok)
    index = {"metadata": {}, "weight_map": {"a": shards[0], "b": shards[1]}}
    (model / "pytorch_model.bin.index.json").write_text(json.dumps(index))
    age(tmp_path, 200)
    cache = tmp_path / "cache"
    (first,) = scan_paths([str(model)], jobs=1, cache_dir=cache)
    assert first.format == "sharded-checkpoint" and first.clean
    scans.clear()
    (again,) = scan_paths([str(model)], jobs=1, cache_dir=cache)
    assert scans == [] and again.to_dict() == first.to_dict()
    (model / shards[1]).write_bytes(evil)
    age(tmp_path, 100)
    (after,) = scan_paths([str(model)], jobs=1, cache_dir=cache)
    assert len(scans) == 1 and not after.clean
