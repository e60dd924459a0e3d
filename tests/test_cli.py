"""Tests for the minimal ``emulpickle`` command-line tool."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from emulpickle.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "checkpoint.pkl"


def test_show_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "'step': 12000" in out
    assert "'shape': (4, 256, 256)" in out
    assert "tiny-transformer" in out


def test_show_matches_pickle_for_builtins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps({"a": [1, 2.5, None], "b": (True, b"x")}))
    assert main(["show", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "{'a': [1, 2.5, None], 'b': (True, b'x')}"


def test_show_unknown_global_is_generic_and_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pkl"
    payload = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    path.write_bytes(payload)
    assert main(["show", str(path)]) == 0
    assert "os" in capsys.readouterr().out
    assert not marker.exists()


def test_show_truncates_long_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "long.pkl"
    path.write_bytes(pickle.dumps(list(range(1000))))
    assert main(["show", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 201
    assert lines[-1] == "... (800 more lines)"
    assert main(["show", "--max-lines", "0", str(path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1000


def test_show_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(tmp_path / "nope.pkl")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("emulpickle: error: ")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "data",
    [b"", b"\x80\x05\x95", b"garbage\n", pickle.dumps([1, 2, 3])[:-3]],
    ids=["empty", "truncated-frame", "garbage", "truncated"],
)
def test_show_bad_pickle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes
) -> None:
    path = tmp_path / "bad.pkl"
    path.write_bytes(data)
    assert main(["show", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("emulpickle: error: ")
    assert len(err.splitlines()) == 1


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["show"]) == 2
    assert "usage:" in capsys.readouterr().err


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "show" in capsys.readouterr().out


def test_python_dash_m() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "emulpickle", "show", str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "'step': 12000" in proc.stdout
