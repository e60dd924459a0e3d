"""``emulpickle.scan_paths``: many files, in-process, on processes and threads."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from helpers.hubtree import make_tree

import emulpickle
from emulpickle.scanner import engine
from emulpickle.scanner.engine import BIG_FILE_BYTES, partition, scan_paths
from emulpickle.scanner.filescan import FileResult
from emulpickle.scanner.targets import Target


def report(results: Any) -> list[dict[str, Any]]:
    """Results as comparable dicts, in path order."""
    return sorted((r.to_dict() for r in results), key=lambda d: d["file"])


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, dict[str, bool | None]]:
    root = tmp_path / "hub"
    return root, make_tree(root)


def _check(
    root: Path, expected: dict[str, bool | None], got: list[dict[str, Any]]
) -> None:
    by_rel = {str(Path(d["file"]).relative_to(root)): d for d in got}
    assert set(by_rel) == set(expected)
    for rel, clean in expected.items():
        if clean is not None:
            assert by_rel[rel]["clean"] is clean, by_rel[rel]
        assert by_rel[rel]["sha256"], rel


def test_one_job_and_two_jobs_agree(tree: tuple[Path, dict[str, bool | None]]) -> None:
    root, expected = tree
    one = report(scan_paths([str(root)], jobs=1, cache=False))
    two = report(scan_paths([str(root)], jobs=2, cache=False))
    assert one == two
    _check(root, expected, one)


@pytest.mark.parametrize("pool", [ThreadPoolExecutor, ProcessPoolExecutor])
def test_executor_given(tree: tuple[Path, dict[str, bool | None]], pool: Any) -> None:
    root, expected = tree
    with pool(max_workers=2) as executor:
        got = report(scan_paths([str(root)], executor=executor, cache=False))
    assert got == report(scan_paths([str(root)], jobs=1, cache=False))
    _check(root, expected, got)


def test_not_an_executor(tmp_path: Path) -> None:
    (tmp_path / "a.pkl").write_bytes(pickle.dumps(1))
    with pytest.raises(TypeError, match="executor must be"):
        list(scan_paths([str(tmp_path)], executor=object(), cache=False))


def test_results_stream(
    tree: tuple[Path, dict[str, bool | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first result is yielded before the other files are scanned."""
    root, expected = tree
    calls: list[str] = []
    real = engine.scan_target

    def counting(target: Target, **kwargs: Any) -> FileResult:
        calls.append(target.path)
        return real(target, **kwargs)

    monkeypatch.setattr(engine, "scan_target", counting)
    stream = scan_paths([str(root)], jobs=1, cache=False)
    assert iter(stream) is stream
    assert calls == []  # nothing happens before the first result is asked for
    first = next(stream)
    assert calls == [first.file]
    assert stream.total_files == len(expected)
    rest = list(stream)
    assert len(calls) == len(expected) == len(rest) + 1


def test_exclude_and_missing(tree: tuple[Path, dict[str, bool | None]]) -> None:
    root, _ = tree
    got = report(
        scan_paths(
            [str(root), str(root / "missing")],
            jobs=1,
            exclude=["*.md", "org1/*"],
            cache=False,
        )
    )
    files = [d["file"] for d in got]
    assert not any(f.endswith(".md") or "/org1/" in f for f in files)
    missing = [d for d in got if d["file"] == str(root / "missing")]
    assert missing and missing[0]["format"] == "unreadable"
    assert missing[0]["errors"]


def test_file_and_memory_urls(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(b"cos\nsystem\n(S'x'\ntR.")
    ok = pickle.dumps({"a": 1})
    fs = fsspec.filesystem("memory")
    fs.pipe("/emulpickle-test/models/ok.pkl", ok)
    fs.pipe("/emulpickle-test/models/deep/evil.pkl", evil.read_bytes())
    try:
        got = report(
            scan_paths(
                [evil.as_uri(), "memory://emulpickle-test/models"], jobs=1, cache=False
            )
        )
        # memory:// lives in this process: threads see it (processes on a
        # real cluster would open s3://... the same way)
        with ThreadPoolExecutor(2) as pool:
            remote = report(
                scan_paths(
                    ["memory://emulpickle-test/models"], executor=pool, cache=False
                )
            )
    finally:
        fs.rm("/emulpickle-test", recursive=True)
    assert [(d["file"], d["clean"]) for d in got] == [
        (str(evil), False),
        ("memory:///emulpickle-test/models/deep/evil.pkl", False),
        ("memory:///emulpickle-test/models/ok.pkl", True),
    ]
    assert got[1]["findings"][0]["name"] == "system"
    assert remote == got[1:]


def test_partition_big_files_alone_biggest_first() -> None:
    targets = [Target(f"s{i}", 1000 + i) for i in range(600)]
    targets += [Target("huge", 5 * BIG_FILE_BYTES), Target("big", BIG_FILE_BYTES)]
    tasks = partition(targets, workers=1)
    assert tasks[0] == [Target("huge", 5 * BIG_FILE_BYTES)]
    assert tasks[1] == [Target("big", BIG_FILE_BYTES)]
    assert sorted(t.path for task in tasks for t in task) == sorted(
        t.path for t in targets
    )
    assert all(len(task) <= engine.BATCH_FILES for task in tasks)
    sizes = [sum(t.size for t in task) for task in tasks[2:]]
    assert all(size <= engine.BATCH_BYTES for size in sizes)
    # with more workers, batches shrink so that each worker gets several
    assert len(partition(targets, workers=4)) > len(tasks)


def test_file_result_crosses_processes(tmp_path: Path) -> None:
    """FileResult is picklable by the real pickle and JSON round-trips."""
    path = tmp_path / "evil.pkl"
    path.write_bytes(b"cos\nsystem\n(S'x'\ntR.")
    (result,) = scan_paths([str(path)], jobs=1, cache=False)
    assert pickle.loads(pickle.dumps(result)) == result
    assert FileResult.from_dict(result.to_dict()) == result


def test_public_and_lazy() -> None:
    import subprocess
    import sys

    assert emulpickle.scan_paths is scan_paths
    assert emulpickle.ScanPolicy.__module__ == "emulpickle.scanner.policyfile"
    code = (
        "import sys, emulpickle; "
        "print('emulpickle.scanner.engine' in sys.modules, "
        "'sqlite3' in sys.modules, 'concurrent.futures' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert out.stdout.split() == ["False", "False", "False"], out.stderr
