"""Hashing, and the verified-hash cache: a hit only for the same file, unchanged."""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import stat
from pathlib import Path

import pytest

from emulpickle.guard import hashing
from emulpickle.guard.hashing import HashCache, default_cache, sha256_bytes, sha256_file

OLD = 1_600_000_000  # an mtime far enough in the past not to be "racy"


def _write(path: Path, data: bytes, mtime: int = OLD) -> Path:
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def test_sha256_bytes_and_file(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # several chunks and a tail
    expected = hashlib.sha256(data).hexdigest()
    assert sha256_bytes(data) == expected
    assert sha256_bytes(memoryview(data)) == expected
    path = _write(tmp_path / "f", data)
    assert sha256_file(path) == expected
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        assert sha256_bytes(m) == expected
    assert sha256_file(_write(tmp_path / "empty", b"")) == hashlib.sha256().hexdigest()


@pytest.fixture
def cache(tmp_path: Path) -> HashCache:
    return HashCache(tmp_path / "cache" / "hashes.json")


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the files sha256_file actually reads."""
    calls: list[int] = []
    real = hashlib.sha256

    def counting(*args: object) -> object:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(hashing.hashlib, "sha256", counting)
    return calls


def test_cache_hit_and_persisted(
    tmp_path: Path, cache: HashCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "f", b"hello")
    expected = hashlib.sha256(b"hello").hexdigest()
    reads = _reads(monkeypatch)
    assert sha256_file(path, cache=cache) == expected
    assert sha256_file(path, cache=cache) == expected
    assert len(reads) == 1
    # A fresh cache object (another process) reads the file back.
    again = HashCache(cache.path)
    assert again.lookup(path) == expected
    assert sha256_file(path, cache=again) == expected
    assert len(reads) == 1
    mode = os.stat(cache.path).st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(os.stat(cache.path.parent).st_mode) == 0o700


def test_cache_misses_when_the_file_changes(
    tmp_path: Path, cache: HashCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    upper = hashlib.sha256(b"HELLO").hexdigest()
    longer = hashlib.sha256(b"HELLO!").hexdigest()
    path = _write(tmp_path / "f", b"hello")
    sha256_file(path, cache=cache)
    reads = _reads(monkeypatch)
    # Same size, mtime restored: ctime still moves, so the cache misses.
    _write(path, b"HELLO")
    assert sha256_file(path, cache=cache) == upper
    # Another mtime.
    os.utime(path, (OLD + 10, OLD + 10))
    assert sha256_file(path, cache=cache) == upper
    # Another size.
    _write(path, b"HELLO!")
    assert sha256_file(path, cache=cache) == longer
    # Another inode (the file replaced by a copy, same mtime).
    _write(tmp_path / "g", b"HELLO!")
    os.replace(tmp_path / "g", path)
    assert sha256_file(path, cache=cache) == longer
    assert len(reads) == 4


def test_a_recently_modified_file_is_not_cached(
    tmp_path: Path, cache: HashCache
) -> None:
    path = tmp_path / "fresh"
    path.write_bytes(b"just written")
    sha256_file(path, cache=cache)
    assert cache.lookup(path) is None
    assert not cache.path.exists()


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[]",
        b'{"emulpickle-hash-cache": 2, "hashes": {}}',
        b'{"emulpickle-hash-cache": 1, "hashes": []}',
        b"[" * 100_000,
    ],
)
def test_corrupt_cache_is_ignored(
    tmp_path: Path, cache: HashCache, content: bytes
) -> None:
    cache.path.parent.mkdir(mode=0o700)
    cache.path.write_bytes(content)
    os.chmod(cache.path, 0o600)
    path = _write(tmp_path / "f", b"data")
    assert cache.lookup(path) is None
    assert sha256_file(path, cache=cache) == hashlib.sha256(b"data").hexdigest()
    # And it is rewritten as a valid cache.
    assert HashCache(cache.path).lookup(path) == hashlib.sha256(b"data").hexdigest()


def _forge(cache: HashCache, path: Path, claimed: str, mode: int = 0o600) -> None:
    st = os.stat(path)
    key = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
    cache.path.parent.mkdir(mode=0o700, exist_ok=True)
    doc = {
        "emulpickle-hash-cache": 1,
        "hashes": {key: claimed, "junk": claimed, key + "0": 7},
    }
    cache.path.write_text(json.dumps(doc))
    os.chmod(cache.path, mode)


def test_cache_entries_are_validated(tmp_path: Path, cache: HashCache) -> None:
    path = _write(tmp_path / "f", b"data")
    _forge(cache, path, "not a hash")
    assert cache.lookup(path) is None
    _forge(cache, path, "ab" * 32)
    # A well-formed entry in a private file is believed: documented, the
    # cache is as trusted as the user's home directory.
    assert HashCache(cache.path).lookup(path) == "ab" * 32


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_cache_writable_by_others_or_a_symlink_is_ignored(
    tmp_path: Path, cache: HashCache
) -> None:
    path = _write(tmp_path / "f", b"data")
    _forge(cache, path, "ab" * 32, mode=0o666)
    assert cache.lookup(path) is None
    real = tmp_path / "elsewhere.json"
    os.replace(cache.path, real)
    os.chmod(real, 0o600)
    cache.path.symlink_to(real)
    assert HashCache(cache.path).lookup(path) is None


def test_store_rejects_bad_hashes(tmp_path: Path, cache: HashCache) -> None:
    path = _write(tmp_path / "f", b"data")
    with pytest.raises(ValueError, match="64 lowercase hex"):
        cache.store(path, "sha256:" + "ab" * 32)


def test_deferred_writes_once(tmp_path: Path, cache: HashCache) -> None:
    paths = [_write(tmp_path / f"f{i}", bytes([i])) for i in range(3)]
    with cache.deferred():
        for p in paths:
            sha256_file(p, cache=cache)
        assert not cache.path.exists()
    fresh = HashCache(cache.path)
    assert [fresh.lookup(p) for p in paths] == [
        hashlib.sha256(bytes([i])).hexdigest() for i in range(3)
    ]


def test_the_cache_is_bounded(
    tmp_path: Path, cache: HashCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "MAX_CACHE_ENTRIES", 2)
    paths = [_write(tmp_path / f"f{i}", bytes([i])) for i in range(3)]
    for p in paths:
        sha256_file(p, cache=cache)
    fresh = HashCache(cache.path)
    assert len(fresh) == 2 and fresh.lookup(paths[0]) is None


def test_default_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("EMULPICKLE_NO_HASH_CACHE", raising=False)
    default = default_cache()
    assert default is not None
    assert default.path == tmp_path / "emulpickle" / "hashes.json"
    assert default_cache() is default
    monkeypatch.setenv("EMULPICKLE_NO_HASH_CACHE", "1")
    assert default_cache() is None
