"""Tests for the ``emulpickle`` command: show, dis, json, errors, exit codes.

Most tests run the installed console script in a subprocess, as a user does.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import paths
from helpers.cli_runner import assert_error, run

from emulpickle.cli import main
from emulpickle.cli import output as cli_output

EXAMPLE = paths.REPO_ROOT / "examples" / "checkpoint.pkl"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -------------------------------------------------------------------- show


def test_show_example() -> None:
    proc = run("show", EXAMPLE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "'step': 12000" in proc.stdout
    assert "'name': 'tiny-transformer'" in proc.stdout
    assert "'shape': tuple (3 items)" in proc.stdout


def test_show_tree_of_builtins(tmp_path: Path) -> None:
    path = write(
        tmp_path, "d.pkl", pickle.dumps({"a": [1, 2.5, None], "b": (True, b"x")})
    )
    proc = run("show", path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "dict (2 items)",
        "  'a': list (3 items)",
        "    [0]: 1",
        "    [1]: 2.5",
        "    [2]: None",
        "  'b': tuple (2 items)",
        "    [0]: True",
        "    [1]: b'x'",
    ]


def test_show_abbreviates_long_values(tmp_path: Path) -> None:
    path = write(tmp_path, "s.pkl", pickle.dumps(["x" * 1000, 7**1000]))
    out = run("show", path).stdout
    assert "... (1000 long)" in out
    assert "<int of 2808 bits>" in out
    assert max(len(line) for line in out.splitlines()) < 120


def test_show_unknown_global_is_generic_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = write(tmp_path, "evil.pkl", f"cos\nsystem\n(S'touch {marker}'\ntR.".encode())
    proc = run("show", path)
    assert proc.returncode == 0, proc.stderr
    assert "os.system(...)" in proc.stdout
    assert not marker.exists()


def test_show_depth_and_items(tmp_path: Path) -> None:
    path = write(
        tmp_path, "n.pkl", pickle.dumps({"a": {"b": {"c": [1]}}, "l": list(range(100))})
    )
    out = run("show", "--depth", "2", "--max-items", "3", path).stdout
    assert "'b': dict (1 item) [...]" in out
    assert "'c'" not in out
    assert "  ... (97 more)" in out


def test_show_max_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "long.pkl", pickle.dumps(list(range(1000))))
    lines = run("show", "--max-items", "0", path).stdout.splitlines()
    assert len(lines) == 201
    assert lines[-1].startswith("... (output stopped at 200 lines")
    proc = run("show", "--max-items", "0", "--max-lines", "0", path)
    assert len(proc.stdout.splitlines()) == 1001


def test_show_shared_objects_once(tmp_path: Path) -> None:
    shared = [1, 2]
    path = write(tmp_path, "s.pkl", pickle.dumps({"a": shared, "b": shared}))
    out = run("show", path).stdout.splitlines()
    assert out[1] == "  'a': list (2 items) &1"
    assert out[-1] == "  'b': list (2 items) (same as &1)"


def test_show_cycle(tmp_path: Path) -> None:
    cyc: list[object] = []
    cyc.append(cyc)
    proc = run("show", write(tmp_path, "c.pkl", pickle.dumps(cyc)))
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == [
        "list (1 item) &1",
        "  [0]: list (1 item) (same as &1)",
    ]


def _doubling(levels: int) -> bytes:
    x: list[object] = []
    for _ in range(levels):
        x = [x, x]
    return pickle.dumps(x)


def _deep(levels: int) -> bytes:
    # [[[...]]] built with one EMPTY_LIST per level, then APPENDs.
    return b"\x80\x02" + b"]" * levels + b"a" * (levels - 1) + b"."


#: Seconds past which ``show`` counts as hung on a hostile shape. A hang guard,
#: not a speed goal: the shapes take well under a second, the blow-ups they
#: guard against (2**40 nodes, deep recursion) would never finish.
HANG = 30.0


@pytest.mark.parametrize(
    ("data", "args"),
    [
        (_doubling(40), ()),
        (_doubling(40), ("--depth", "100", "--max-lines", "0")),
        (_deep(100_000), ()),
    ],
    ids=["doubling-40", "doubling-40-all", "deep-100000"],
)
def test_show_hostile_shapes_fast(
    tmp_path: Path, data: bytes, args: tuple[str, ...]
) -> None:
    path = write(tmp_path, "h.pkl", data)
    start = time.perf_counter()
    proc = run("show", *args, path)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    assert elapsed < HANG, elapsed
    assert len(proc.stdout.splitlines()) <= 250


def test_show_hostile_shapes_json_fast(tmp_path: Path) -> None:
    for data in (_doubling(40), _deep(100_000)):
        path = write(tmp_path, "h.pkl", data)
        start = time.perf_counter()
        proc = run("show", "--json", path)
        assert proc.returncode == 0, proc.stderr
        assert time.perf_counter() - start < HANG
        json.loads(proc.stdout)


def test_show_json(tmp_path: Path) -> None:
    path = write(tmp_path, "d.pkl", pickle.dumps({"a": [1, 2], "n": None}))
    proc = run("show", "--json", path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["tree"] == {"a": [1, 2], "n": None}
    assert data["format"] == "pickle"
    assert data["tensors"] == []
    assert data["totals"] == {
        "count": 0,
        "numel": 0,
        "nbytes": 0,
        "tied": 0,
        "views": 0,
    }


def test_show_numpy_arrays(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("emulpickle_numpy")
    obj = {"w": np.zeros((3, 4), np.float32), "meta": {"b": np.arange(5)}}
    path = write(tmp_path, "np.pkl", pickle.dumps(obj))
    proc = run("show", path)
    assert proc.returncode == 0, proc.stderr
    assert "'w': ndarray float32 [3, 4]" in proc.stdout
    assert "2 arrays, 17 elements, 88 B" in proc.stdout
    rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines()[-2:]}
    assert rows["w"][1:3] == ["float32", "[3,"]
    assert rows["meta.b"][1] == "int64"
    data = json.loads(run("show", "--json", path).stdout)
    assert data["tree"]["w"] == {
        "$tensor": {"dtype": "float32", "shape": [3, 4], "device": "cpu"}
    }
    assert [t["name"] for t in data["tensors"]] == ["w", "meta.b"]
    assert data["totals"]["nbytes"] == 88


def test_show_npy(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    path = tmp_path / "a.npy"
    np.save(path, np.ones((2, 3), np.float64))
    proc = run("show", path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(".npy v1.0: dtype '<f8', shape (2, 3), C order")
    assert "float64  [2, 3]" in proc.stdout


def test_show_npy_object_array_is_not_run(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("emulpickle_numpy")
    path = tmp_path / "o.npy"
    np.save(path, np.array([{"x": 1}, "s"], dtype=object), allow_pickle=True)
    proc = run("show", path)
    assert proc.returncode == 0, proc.stderr
    assert "dtype '|O', shape (2,)" in proc.stdout
    assert json.loads(run("json", "--with-data", path).stdout) == [{"x": 1}, "s"]


def test_show_bad_npy_header(tmp_path: Path) -> None:
    header = b"{'descr': __import__('os'), 'fortran_order': False, 'shape': (1,), }"
    data = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header
    assert_error(run("show", write(tmp_path, "bad.npy", data)), 2)


def test_show_missing_file(tmp_path: Path) -> None:
    proc = run("show", tmp_path / "nope.pkl")
    assert_error(proc, 2)
    assert proc.stdout == ""


@pytest.mark.parametrize(
    "data",
    [b"", b"\x80\x05\x95", b"garbage\n", pickle.dumps([1, 2, 3])[:-3]],
    ids=["empty", "truncated-frame", "garbage", "truncated"],
)
def test_show_bad_pickle(tmp_path: Path, data: bytes) -> None:
    proc = run("show", write(tmp_path, "bad.pkl", data))
    assert_error(proc, 2)
    assert proc.stdout == ""


def test_debug_shows_traceback(tmp_path: Path) -> None:
    proc = run("show", "--debug", write(tmp_path, "bad.pkl", b"garbage\n"))
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("emulpickle: error: ")


# --------------------------------------------------------------------- dis


def test_dis(tmp_path: Path) -> None:
    path = write(tmp_path, "g.pkl", pickle.dumps({"a": 1}, protocol=2))
    proc = run("dis", path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["0:", "PROTO", "2"]
    assert lines[-1].split() == [f"{len(path.read_bytes()) - 1}:", "STOP"]
    assert any("'a'" in line for line in lines)


def test_dis_names_globals(tmp_path: Path) -> None:
    path = write(tmp_path, "evil.pkl", b"cos\nsystem\n(S'echo hi'\ntR.")
    proc = run("dis", path)
    assert proc.returncode == 0, proc.stderr
    assert "os.system" in proc.stdout
    data = json.loads(run("dis", "--json", path).stdout)
    assert data["error"] is None
    (first,) = data["pickles"]
    globals_ = [i["global"] for i in first["instructions"] if i["global"]]
    assert globals_ == [
        {"module": "os", "name": "system", "via": "GLOBAL", "offset": 0}
    ]


def test_dis_malformed(tmp_path: Path) -> None:
    data = pickle.dumps([1, 2, 3], protocol=2)[:-3]
    path = write(tmp_path, "bad.pkl", data)
    proc = run("dis", path)
    assert_error(proc, 1)
    assert "offset" in proc.stderr
    assert proc.stdout.splitlines()[0].split()[:2] == ["0:", "PROTO"]
    result = json.loads(run("dis", "--json", path).stdout)
    assert result["error"]["offset"] is not None
    assert result["pickles"][0]["instructions"][0]["opcode"] == "PROTO"


def test_dis_unreadable(tmp_path: Path) -> None:
    assert_error(run("dis", tmp_path / "missing.pkl"), 2)
    assert_error(run("dis", tmp_path), 2)


def test_dis_several_pickles(tmp_path: Path) -> None:
    path = write(tmp_path, "two.pkl", pickle.dumps(1, 2) + pickle.dumps("x", 2) + b"??")
    proc = run("dis", path)
    assert proc.returncode == 0, proc.stderr
    assert "# pickle 2, at offset" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "# 2 bytes after the last STOP"


# -------------------------------------------------------------------- json


def test_json(tmp_path: Path) -> None:
    obj = {"a": [1, 2.5, None], "b": (True, b"x"), "s": {3}}
    proc = run("json", write(tmp_path, "d.pkl", pickle.dumps(obj)))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "a": [1, 2.5, None],
        "b": [True, {"$type": "bytes", "base64": "eA=="}],
        "s": {"$type": "set", "items": [3]},
    }


def test_json_generic(tmp_path: Path) -> None:
    path = write(tmp_path, "evil.pkl", b"cos\nsystem\n(S'echo hi'\ntR.")
    data = json.loads(run("json", path).stdout)
    assert data == {"$generic": "os.system", "args": ["echo hi"]}


def test_json_numpy(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("emulpickle_numpy")
    arr = np.arange(6, dtype=np.int32).reshape(2, 3)
    path = write(tmp_path, "a.pkl", pickle.dumps({"a": arr, "again": arr}))
    summary = json.loads(run("json", path).stdout)
    expected = {"$tensor": {"dtype": "int32", "shape": [2, 3], "device": "cpu"}}
    assert summary == {"a": expected, "again": expected}
    data = json.loads(run("json", "--with-data", "--indent", "0", path).stdout)
    assert data["a"] == data["again"] == [[0, 1, 2], [3, 4, 5]]


def test_json_deep(tmp_path: Path) -> None:
    proc = run("json", write(tmp_path, "deep.pkl", _deep(100_000)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("[") == 100_000


def test_json_bad(tmp_path: Path) -> None:
    assert_error(run("json", write(tmp_path, "bad.pkl", b"\x80\x05\x95")), 2)


# ------------------------------------------------------------------- usage


def test_usage_errors() -> None:
    for args in ([], ["frobnicate"], ["show"], ["show", "--depth", "-1", "x"]):
        proc = run(*args)
        assert proc.returncode == 2, args
        assert "usage:" in proc.stderr


@pytest.mark.parametrize("command", ["show", "dis", "json", "scan", "convert"])
def test_help_has_examples(command: str) -> None:
    proc = run(command, "--help")
    assert proc.returncode == 0
    assert "examples:" in proc.stdout
    assert f"emulpickle {command} " in proc.stdout


def test_top_level_help() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("show", "dis", "json", "scan", "convert", "exit status"):
        assert command in proc.stdout


def test_python_dash_m() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "emulpickle", "show", str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "'step': 12000" in proc.stdout


# -------------------------------------------------- in-process: rich / plain


def test_main_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(EXAMPLE)]) == 0
    assert "'step': 12000" in capsys.readouterr().out
    assert main(["show"]) == 2


def test_plain_without_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setitem(sys.modules, "rich", None)
    assert not cli_output.use_rich(Tty())  # type: ignore[arg-type]
    monkeypatch.setenv("NO_COLOR", "1")
    assert not cli_output.use_rich(Tty())  # type: ignore[arg-type]


def test_rich_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("rich")
    np = pytest.importorskip("numpy")
    pytest.importorskip("emulpickle_numpy")
    monkeypatch.setattr(cli_output, "use_rich", lambda stream: True)
    path = write(tmp_path, "a.pkl", pickle.dumps({"w": np.zeros(3), "[x]": [1]}))
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "'w': ndarray float64 [3]" in out
    assert "'[x]': list (1 item)" in out  # not taken for markup
    assert "1 array, 3 elements, 24 B" in out
