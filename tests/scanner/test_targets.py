"""discover(): what a scan of paths covers (directories, excludes, symlinks,
special files, sharded checkpoints), on trees written by the real tools."""

from __future__ import annotations

import inspect
import json
import os
import pickle
import sys
import types
from pathlib import Path

import pytest

from emulpickle.scanner import targets as targets_module
from emulpickle.scanner.filescan import scan_target
from emulpickle.scanner.targets import Target, TargetError, discover


def _tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _paths(items: list[Target | TargetError], root: Path) -> list[str]:
    return [os.path.relpath(t.path, root) for t in items if isinstance(t, Target)]


def _errors(items: list[Target | TargetError], root: Path) -> dict[str, str]:
    return {
        os.path.relpath(t.path, root): t.message
        for t in items
        if isinstance(t, TargetError)
    }


def test_walks_sorted_depth_first_and_every_regular_file_is_a_target(
    tmp_path: Path,
) -> None:
    _tree(
        tmp_path,
        {
            "b.pkl": pickle.dumps(1),
            "a/z.txt": b"text",
            "a/b/c.bin": b"\0",
            "c/README": b"readme",
        },
    )
    found = list(discover([str(tmp_path)]))
    assert _paths(found, tmp_path) == ["a/b/c.bin", "a/z.txt", "b.pkl", "c/README"]
    assert all(isinstance(t, Target) for t in found)
    sizes = {os.path.basename(t.path): t.size for t in found if isinstance(t, Target)}
    assert sizes["z.txt"] == 4


def test_streams_one_directory_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first target comes before the later directories are listed."""
    _tree(tmp_path, {"a/1.pkl": b".", "b/2.pkl": b".", "c/3.pkl": b"."})
    listed: list[str] = []
    real = os.scandir

    def spy(path: str) -> object:
        listed.append(os.path.basename(path))
        return real(path)

    monkeypatch.setattr(targets_module.os, "scandir", spy)
    walk = discover([str(tmp_path)])
    assert isinstance(walk, types.GeneratorType)
    first = next(walk)
    assert isinstance(first, Target) and first.path.endswith("1.pkl")
    assert "b" not in listed and "c" not in listed
    assert len(list(walk)) == 2


def test_deep_trees_do_not_recurse(tmp_path: Path) -> None:
    deep = tmp_path
    for _ in range(150):
        deep = deep / "d"
        deep.mkdir()
    (deep / "x.pkl").write_bytes(pickle.dumps(0))
    # Less stack than the tree is deep: a recursive walk would fail.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 60)
    try:
        found = list(discover([str(tmp_path)]))
    finally:
        sys.setrecursionlimit(limit)
    assert len(found) == 1 and isinstance(found[0], Target)


def test_exclude_matches_relative_paths_and_base_names(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "keep.pkl": b".",
            "skip.log": b"x",
            "sub/skip.log": b"x",
            ".git/objects/o": b"x",
            "data/raw/big.pkl": b".",
            "data/keep.pkl": b".",
        },
    )
    found = list(discover([str(tmp_path)], exclude=["*.log", ".git", "data/raw"]))
    assert _paths(found, tmp_path) == ["data/keep.pkl", "keep.pkl"]


def test_a_file_given_explicitly_is_always_a_target(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(b"x")
    link = tmp_path / "link"
    link.symlink_to(path)
    found = list(discover([str(path), str(link)], exclude=["*.log", "link"]))
    assert found == [Target(str(path), 1), Target(str(link), 1)]


def test_missing_paths_are_errors_not_exceptions(tmp_path: Path) -> None:
    found = list(discover([str(tmp_path / "nope")]))
    assert len(found) == 1 and isinstance(found[0], TargetError)
    assert "No such file" in found[0].message


def test_symlinks_are_not_followed_by_default(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    _tree(root, {"real/m.pkl": pickle.dumps(1)})
    _tree(outside, {"secret.pkl": pickle.dumps(2)})
    (root / "to_real").symlink_to(root / "real")
    (root / "to_file").symlink_to(root / "real" / "m.pkl")
    (root / "to_outside").symlink_to(outside)
    (root / "to_passwd").symlink_to("/etc/passwd")
    found = list(discover([str(root)]))
    assert _paths(found, root) == ["real/m.pkl"]
    errors = _errors(found, root)
    assert set(errors) == {"to_outside", "to_passwd"}
    assert all("outside the tree" in m for m in errors.values())


def test_followed_symlinks_stay_in_the_root_and_do_not_loop(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _tree(root, {"real/m.pkl": pickle.dumps(1)})
    _tree(tmp_path, {"outside/secret.pkl": pickle.dumps(2)})
    (root / "alias").symlink_to(root / "real")
    (root / "real" / "loop").symlink_to("..")
    (root / "escape").symlink_to(tmp_path / "outside")
    (root / "sneaky").symlink_to("real/../../outside")
    (root / "dangling").symlink_to(root / "gone")
    found = list(discover([str(root)], follow_symlinks=True))
    paths = _paths(found, root)
    assert "real/m.pkl" in paths
    assert not any("secret" in p for p in paths)
    errors = _errors(found, root)
    assert "outside the tree" in errors["escape"]
    assert "outside the tree" in errors["sneaky"]
    assert "dangling" in errors["dangling"]
    assert any("loop" in m for m in errors.values())


def test_special_files_and_unlistable_directories_are_target_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path, {"ok.pkl": b".", "locked/x.pkl": b"."})
    os.mkfifo(tmp_path / "fifo")
    real = os.scandir

    def scandir(path: str) -> object:
        if path.endswith("locked"):
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(targets_module.os, "scandir", scandir)
    found = list(discover([str(tmp_path)]))
    errors = _errors(found, tmp_path)
    assert "a fifo" in errors["fifo"]
    assert "Permission denied" in errors["locked"]
    assert _paths(found, tmp_path) == ["ok.pkl"]
    # Given explicitly, a fifo is not opened either (it would block).
    [explicit] = discover([str(tmp_path / "fifo")])
    assert isinstance(explicit, TargetError) and "a fifo" in explicit.message


def _sharded(root: Path, weight_map: dict[str, str]) -> Path:
    torch = pytest.importorskip("torch")
    root.mkdir(parents=True, exist_ok=True)
    for shard in sorted(set(weight_map.values())):
        if "/" not in shard and ".." not in shard and shard != "missing.bin":
            torch.save({shard: torch.zeros(2)}, root / shard)
    index = root / "pytorch_model.bin.index.json"
    index.write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return index


def test_a_sharded_checkpoint_is_one_target(tmp_path: Path) -> None:
    names = ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"]
    index = _sharded(tmp_path, {"a": names[0], "b": names[1], "c": names[0]})
    (tmp_path / "config.json").write_text("{}")
    found = list(discover([str(tmp_path)]))
    shards = tuple(str(tmp_path / n) for n in names)
    size = sum(os.path.getsize(s) for s in shards)
    assert found == [
        Target(str(tmp_path / "config.json"), 2),
        Target(str(index), size, shards),
    ]
    # Given explicitly, the index is the model too.
    assert list(discover([str(index)])) == [Target(str(index), size, shards)]
    result = scan_target(found[1])
    assert result.format == "sharded-checkpoint" and result.clean, result
    assert {f.where.split("/")[0] for f in result.findings} == set(names)


def test_a_missing_shard_is_an_error_in_the_models_result(tmp_path: Path) -> None:
    index = _sharded(tmp_path, {"a": "part1.bin", "b": "missing.bin"})
    [target] = discover([str(tmp_path)])
    assert isinstance(target, Target) and len(target.shards) == 2
    result = scan_target(target)
    assert not result.clean
    assert result.errors == ["missing.bin: a missing shard (named by the index)"]
    assert result.file == str(index)


@pytest.mark.parametrize(
    "bad", ["../outside.bin", "/etc/passwd", "sub/part.bin", "..", "a\\b.bin"]
)
def test_an_index_naming_files_elsewhere_is_refused(tmp_path: Path, bad: str) -> None:
    index = _sharded(tmp_path, {"a": "part1.bin", "b": bad})
    found = list(discover([str(tmp_path)]))
    errors = _errors(found, tmp_path)
    assert "not a plain file name" in errors[index.name]
    # The index claims nothing then: its shards are scanned as files.
    assert "part1.bin" in _paths(found, tmp_path)


def test_broken_and_oversized_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(
        tmp_path,
        {
            "a/model.safetensors.index.json": b"{not json",
            "b/model.safetensors.index.json": b'{"weight_map": [1]}',
            "c/tokenizer.index.json": b'{"no": "weight_map"}',
            "d/x.index.json": json.dumps({"weight_map": {"t": "s.bin"}}).encode(),
            "d/s.bin": pickle.dumps(1),
        },
    )
    monkeypatch.setattr(targets_module, "MAX_INDEX_BYTES", 20)
    found = list(discover([str(tmp_path)]))
    errors = _errors(found, tmp_path)
    assert "not JSON" in errors["a/model.safetensors.index.json"]
    # (b's index is 20 bytes: read, and its weight_map is no map)
    assert "weight_map" in errors["b/model.safetensors.index.json"]
    assert "more than 20" in errors["d/x.index.json"]
    # An index of something else is a file; unclaimed shards are files.
    assert _paths(found, tmp_path) == ["c/tokenizer.index.json", "d/s.bin"]


def test_a_hostile_shard_is_found_with_its_name(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")

    class Evil:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, ("true",))

    torch.save({"w": torch.zeros(1)}, tmp_path / "part1.bin")
    torch.save({"w": Evil()}, tmp_path / "part2.bin")
    (tmp_path / "pytorch_model.bin.index.json").write_text(
        json.dumps({"weight_map": {"a": "part1.bin", "b": "part2.bin"}})
    )
    [target] = discover([str(tmp_path)])
    assert isinstance(target, Target)
    result = scan_target(target)
    bad = [f for f in result.findings if f.verdict == "dangerous"]
    assert bad and bad[0].where.startswith("part2.bin/")
    assert result.sha256 is not None and not result.clean
