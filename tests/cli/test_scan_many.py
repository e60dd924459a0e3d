"""``emulpickle scan PATH...``: directories, jobs, JSON lines, SARIF, policy,
cache and Dask options, as a user runs them."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.cli_runner import assert_error, run
from helpers.hubtree import make_tree

from emulpickle.cli import main


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    env.update(extra)
    return env


def _scan(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emulpickle", "scan", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    root = tmp_path / "hub"
    make_tree(root)
    return root


def _files(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(doc["files"], key=lambda d: d["file"])


def test_directory_json_jobs_agree(hub: Path, tmp_path: Path) -> None:
    env = _env(tmp_path)
    one = _scan("--json", "--jobs", "1", "--no-cache", hub, env=env)
    two = _scan("--json", "--jobs", "2", "--no-cache", hub, env=env)
    assert one.returncode == two.returncode == 1, one.stderr
    assert json.loads(one.stdout) == json.loads(two.stdout)
    doc = json.loads(one.stdout)
    assert doc["clean"] is False
    files = {Path(d["file"]).relative_to(hub).as_posix(): d for d in doc["files"]}
    assert files["org0/model/evil.pkl"]["clean"] is False
    assert files["org0/model/weights.pkl"]["clean"] is True
    for d in files.values():
        assert {"file", "clean", "findings", "errors", "sha256", "format"} <= set(d)
    # the cache answers the same
    cold = _scan("--json", hub, env=env)
    warm = _scan("--json", hub, env=env)
    assert json.loads(cold.stdout) == json.loads(warm.stdout) == doc
    assert (tmp_path / "xdg" / "emulpickle" / "scan-cache.sqlite3").exists()


def test_jsonl_lines(hub: Path, tmp_path: Path) -> None:
    proc = _scan(
        "--jsonl", "--jobs", "2", "--cache-dir", tmp_path / "c", hub, env=_env(tmp_path)
    )
    assert proc.returncode == 1, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == sum(1 for p in hub.rglob("*") if p.is_file())
    for line in lines:
        assert len(line["sha256"]) == 64
        assert line["format"]
    assert (tmp_path / "c" / "scan-cache.sqlite3").exists()
    assert proc.stderr == ""  # no progress bar into a pipe


def test_text_summary_and_exclude(hub: Path, tmp_path: Path) -> None:
    proc = _scan(
        "--no-cache",
        "--exclude",
        "evil.pkl",
        "--exclude",
        "unknown/*",
        "--exclude",
        "*.md",
        hub,
        env=_env(tmp_path),
    )
    assert "evil.pkl" not in proc.stdout
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("format "))
    assert lines[header].split() == [
        "format",
        "files",
        "clean",
        "not",
        "clean",
        "errors",
        "bytes",
    ]
    assert any(line.startswith("total ") for line in lines[header:])
    assert "files/s" in lines[-1]
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_sarif_output(hub: Path, tmp_path: Path) -> None:
    proc = _scan("--sarif", "--no-cache", hub, env=_env(tmp_path))
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["version"] == "2.1.0"
    rules = {r["ruleId"] for r in doc["runs"][0]["results"]}
    assert {"dangerous-global", "unknown-global"} <= rules


def test_policy_exit_status(hub: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps(
            {
                "emulpickle-scan-policy": 1,
                "allow": ["mypkg.models.*"],
                "fail_on": ["dangerous"],
            }
        )
    )
    env = _env(tmp_path)
    assert (
        _scan("--no-cache", "--policy", policy, hub / "unknown", env=env).returncode
        == 0
    )
    assert _scan("--no-cache", hub / "unknown", env=env).returncode == 1
    assert _scan("--no-cache", "--policy", policy, hub, env=env).returncode == 1
    bad = tmp_path / "bad.json"
    bad.write_text('{"emulpickle-scan-policy": 1, "allow": "x"}')
    proc = _scan("--policy", bad, hub, env=env)
    assert_error(proc, 2)
    assert "allow must be a list" in proc.stderr


def test_unreadable_is_exit_2_and_the_rest_is_scanned(tmp_path: Path) -> None:
    ok = tmp_path / "ok.pkl"
    ok.write_bytes(pickle.dumps(1))
    proc = _scan(
        "--no-cache", "--json", ok, tmp_path / "missing.pkl", env=_env(tmp_path)
    )
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert [d["clean"] for d in doc["files"]] == [True, False]
    assert doc["files"][1]["error"]


def test_usage_errors(tmp_path: Path) -> None:
    ok = tmp_path / "ok.pkl"
    ok.write_bytes(pickle.dumps(1))
    assert_error(run("scan", "--json", "--sarif", ok), 2)
    assert run("scan", "--jobs", "0", ok).returncode == 2


def test_dask_without_distributed(tmp_path: Path) -> None:
    """A clear exit-2 message naming the extra to install."""
    fake = tmp_path / "fake"
    (fake / "distributed").mkdir(parents=True)
    (fake / "distributed" / "__init__.py").write_text(
        "raise ImportError('No module named distributed')\n"
    )
    env = _env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([str(fake), env.get("PYTHONPATH", "")])
    ok = tmp_path / "ok.pkl"
    ok.write_bytes(pickle.dumps(1))
    proc = _scan("--dask", "tcp://127.0.0.1:1", ok, env=env)
    assert_error(proc, 2)
    assert 'pip install "emulpickle[dask]"' in proc.stderr


def test_stdin_still_works(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "emulpickle", "scan", "--json", "-"],
        input=b"cos\nsystem\n(S'x'\ntR.",
        capture_output=True,
        check=False,
        env=_env(tmp_path),
        timeout=60,
    )
    assert proc.returncode == 1
    (entry,) = json.loads(proc.stdout)["files"]
    assert entry["file"] == "-"
    assert entry["findings"][0]["name"] == "system"


def test_in_process(
    hub: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "scan",
            "--jsonl",
            "--jobs",
            "1",
            "--cache-dir",
            str(tmp_path / "c"),
            str(hub / "org0"),
        ]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert {Path(json.loads(line)["file"]).name for line in out.splitlines()} == {
        "weights.pkl",
        "evil.pkl",
        "README.md",
    }


def test_cache_warning_is_one_line(tmp_path: Path) -> None:
    ok = tmp_path / "ok.pkl"
    ok.write_bytes(pickle.dumps(1))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "scan-cache.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    (cache / "scan-cache.sqlite3").chmod(0o600)
    proc = _scan("--cache-dir", cache, ok, env=_env(tmp_path))
    assert proc.returncode == 0
    assert proc.stderr.startswith("emulpickle: warning: result cache ")
    assert len(proc.stderr.splitlines()) == 1, proc.stderr


def test_progress_bar_on_a_terminal(hub: Path, tmp_path: Path) -> None:
    """stderr a terminal: a bar (files/total, bytes, findings), then erased."""
    import pty

    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "emulpickle",
                "scan",
                "--no-cache",
                "-j",
                "1",
                str(hub),
            ],
            stdout=subprocess.PIPE,
            stderr=slave,
            env=_env(tmp_path),
            timeout=120,
            check=False,
        )
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    total = sum(1 for p in hub.rglob("*") if p.is_file())
    assert proc.returncode == 1
    text = seen.decode()
    assert f"{total}/{total} files" in text
    assert "finding" in text
    assert text.endswith("\r\x1b[K")
    assert "\x1b" not in proc.stdout.decode()
