"""First contact with the ``emulpickle`` command: files of any kind through
``open_file``, ``--version``, ``-`` for standard input, several files,
shell completion, and install lines that work as written."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import paths
from helpers.cli_runner import assert_error, run

EXAMPLE_PT = paths.REPO_ROOT / "examples" / "checkpoint.pt"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def run_stdin(data: bytes, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m emulpickle ARGS`` with ``data`` on standard input."""
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "emulpickle", *args],
        input=data,
        capture_output=True,
        check=False,
        env=env,
        timeout=120,
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    )


# ---------------------------------------------------------------- --version


def test_version_names_the_plugins() -> None:
    import emulpickle

    proc = run("--version")
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert line.startswith(f"emulpickle {emulpickle.__version__} (plugins: ")
    plugins = re.fullmatch(r"emulpickle \S+ \(plugins: (.*)\)", line)
    assert plugins is not None, line
    names = [item.split()[0] for item in plugins.group(1).split(", ")]
    for name in ("numpy", "torch"):
        if name in names:
            version = re.search(rf"{name} (\S+?)[,)]", line)
            assert version is not None and version.group(1)[0].isdigit(), line
    pytest.importorskip("emulpickle_torch")
    assert {"numpy", "torch"} <= set(names), line


# ------------------------------------------------------------ what it reads


def test_show_the_bundled_torch_checkpoint() -> None:
    pytest.importorskip("emulpickle_torch")
    proc = run("show", EXAMPLE_PT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("torch checkpoint (zip format)\n")
    assert "'embed.weight': Tensor float32 [64, 16] cpu" in proc.stdout
    assert "'step': 1200" in proc.stdout
    assert "28 tensors, 4,195 elements, 16.4 KiB" in proc.stdout


def test_show_npz(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("emulpickle_numpy")
    np.savez(tmp_path / "arrays.npz", weights=np.ones((2, 3)), ids=np.arange(4))
    proc = run("show", tmp_path / "arrays.npz")
    assert proc.returncode == 0, proc.stderr
    assert "'weights': ndarray float64 [2, 3]" in proc.stdout
    assert "'ids': ndarray int64 [4]" in proc.stdout
    assert "without data.pkl" not in proc.stdout + proc.stderr


def test_object_npy_shows_its_elements(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("emulpickle_numpy")
    objects = np.empty(3, dtype=object)
    objects[:] = [{"x": 1}, "hello", [1, 2]]
    np.save(tmp_path / "o.npy", objects, allow_pickle=True)
    proc = run("show", tmp_path / "o.npy")
    assert proc.returncode == 0, proc.stderr
    assert "'x': 1" in proc.stdout
    assert "'hello'" in proc.stdout
    proc = run("json", tmp_path / "o.npy")
    assert proc.returncode == 0, proc.stderr
    assert '"hello"' in proc.stdout


def test_show_a_gzipped_pickle(tmp_path: Path) -> None:
    path = tmp_path / "config.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump({"lr": 0.5}, f)
    proc = run("show", path)
    assert proc.returncode == 0, proc.stderr
    assert "'lr': 0.5" in proc.stdout


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"hello world\n", "a text file, not a pickle"),
        (b"", "an empty file"),
    ],
)
def test_what_is_not_a_pickle_is_named(tmp_path: Path, data: bytes, says: str) -> None:
    path = write(tmp_path, "model.pkl", data)
    for command in ("show", "json"):
        proc = run(command, path)
        assert_error(proc, 2)
        assert f"{path}: {says}" in proc.stderr


def test_joblib_shows(tmp_path: Path) -> None:
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    pytest.importorskip("emulpickle_numpy")
    joblib.dump({"coef": np.arange(3.0)}, tmp_path / "m.joblib")
    proc = run("show", tmp_path / "m.joblib")
    assert proc.returncode == 0, proc.stderr
    assert "'coef': ndarray" in proc.stdout, proc.stdout


# ------------------------------------------------------------ standard input


def test_standard_input_for_every_command(tmp_path: Path) -> None:
    data = pickle.dumps({"a": [1, 2]}, protocol=4)
    proc = run_stdin(data, "show", "-")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[:2] == ["dict (1 item)", "  'a': list (2 items)"]
    proc = run_stdin(gzip.compress(data), "json", "--indent", "0", "-")
    assert (proc.returncode, proc.stdout.strip()) == (0, '{"a":[1,2]}'), proc.stderr
    proc = run_stdin(data, "dis", "-")
    assert proc.returncode == 0, proc.stderr
    assert "PROTO" in proc.stdout and "STOP" in proc.stdout
    proc = run_stdin(data, "scan", "-")
    assert (proc.returncode, proc.stdout.splitlines()[0]) == (
        0,
        "standard input: clean",
    )
    evil = b"cos\nsystem\n(S'echo hi'\ntR."
    proc = run_stdin(evil, "scan", "-")
    assert proc.returncode == 1
    proc = run_stdin(b"not a pickle at all\n", "show", "-")
    assert_error(proc, 2)
    assert "standard input: a text file, not a pickle" in proc.stderr


def test_standard_input_torch_checkpoint() -> None:
    pytest.importorskip("emulpickle_torch")
    proc = run_stdin(EXAMPLE_PT.read_bytes(), "show", "-")
    assert proc.returncode == 0, proc.stderr
    assert "'embed.weight': Tensor float32 [64, 16] cpu" in proc.stdout
    proc = run_stdin(EXAMPLE_PT.read_bytes(), "dis", "-")
    assert proc.returncode == 0, proc.stderr
    assert "checkpoint/data.pkl" in proc.stdout


# ------------------------------------------------------------ several files


def test_several_files_with_headers_and_the_worst_status(tmp_path: Path) -> None:
    a = write(tmp_path, "a.pkl", pickle.dumps([1]))
    b = write(tmp_path, "b.pkl", pickle.dumps({"b": 2}))
    bad = write(tmp_path, "bad.txt", b"just text\n")
    proc = run("show", a, b)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"==> {a} <==",
        "list (1 item)",
        "  [0]: 1",
        "",
        f"==> {b} <==",
        "dict (1 item)",
        "  'b': 2",
    ]
    proc = run("json", "--indent", "0", bad, a, b)
    assert proc.returncode == 2
    # JSON output: no header lines, a stream of documents a parser reads.
    decoder = json.JSONDecoder()
    text, values = proc.stdout.strip(), []
    while text:
        value, end = decoder.raw_decode(text)
        values.append(value)
        text = text[end:].strip()
    assert values == [[1], {"b": 2}]
    said = "a text file, not a pickle (it starts 'just text')"
    assert proc.stderr == f"emulpickle: error: {bad}: {said}\n"
    broken = write(tmp_path, "broken.pkl", pickle.dumps([1, 2])[:-3])
    proc = run("dis", a, broken)
    assert proc.returncode == 1  # dis: malformed is a "no", not unreadable
    assert f"==> {broken} <==" in proc.stdout
    proc = run("show", a, tmp_path / "missing.pkl", b)
    assert proc.returncode == 2
    assert "'b': 2" in proc.stdout
    proc = run("show", a)  # one file: no header
    assert (proc.returncode, proc.stdout) == (0, "list (1 item)\n  [0]: 1\n")


# -------------------------------------------------------------- completion


def test_completion_scripts(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    scripts = {}
    for shell in ("bash", "zsh", "fish"):
        proc = run("completion", shell)
        assert proc.returncode == 0, proc.stderr
        scripts[shell] = proc.stdout
        assert "show" in proc.stdout and "max-lines" in proc.stdout
        assert "completion" in proc.stdout
    script = write(tmp_path, "emulpickle.bash", scripts["bash"].encode())
    check = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    # Complete as bash would: commands, then a command's options and files.
    write(tmp_path, "model.pt", b"")

    def complete(*words: str) -> list[str]:
        code = (
            f"source {script}; COMP_WORDS=({' '.join(words)}); "
            f"COMP_CWORD={len(words) - 1}; _emulpickle; "
            'printf "%s\\n" "${COMPREPLY[@]}"'
        )
        proc = subprocess.run(
            [bash, "-c", code], capture_output=True, text=True, cwd=tmp_path
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    assert complete("emulpickle", "s") == ["show", "scan"]
    assert complete("emulpickle", "--v") == ["--version"]
    assert "--max-lines" in complete("emulpickle", "show", "--max")
    assert complete("emulpickle", "show", "mod") == ["model.pt"]
    assert complete("emulpickle", "completion", "") == ["bash", "zsh", "fish"]
    for shell, check_args in (("zsh", ["-n"]), ("fish", ["--no-execute"])):
        program = shutil.which(shell)
        if program is not None:
            path = write(tmp_path, f"c.{shell}", scripts[shell].encode())
            proc = subprocess.run(
                [program, *check_args, str(path)], capture_output=True
            )
            assert proc.returncode == 0, proc.stderr


def test_completion_needs_a_known_shell() -> None:
    proc = run("completion", "tcsh")
    assert proc.returncode == 2
    assert "argument SHELL: invalid choice: 'tcsh'" in proc.stderr


# ----------------------------------------------------- install lines, README


def _install_lines() -> list[tuple[Path, str]]:
    pages = [
        paths.REPO_ROOT / "README.md",
        *sorted((paths.REPO_ROOT / "docs").glob("*.md")),
    ]
    pages += sorted(paths.REPO_ROOT.glob("plugins/*/README.md"))
    found = []
    for page in pages:
        for line in page.read_text(encoding="utf-8").splitlines():
            for match in re.finditer(r"pip install ([^`\n]*)", line):
                found.append((page, match.group(1)))
    return found


def test_every_install_line_works_from_a_clone() -> None:
    """No ``pip install emulpickle-...`` (not on an index): every local
    project an install line names exists (from the clone's root)."""
    lines = _install_lines()
    assert lines
    for page, args in lines:
        for word in args.split():
            word = word.strip("'\"")
            if word == "&&" or word.startswith(("#", "(")):
                break  # the next command, a comment, or "(from a clone...)"
            if word.startswith("-") or "==" in word:
                continue
            name = word.split("[")[0]
            assert not name.startswith("emulpickle"), (page.name, args)
            if name.startswith((".", "plugins")):  # absolute: an example path
                root = paths.REPO_ROOT / name
                assert (root / "pyproject.toml").is_file(), (page.name, args)


def test_readme_main_command_installs_both_plugins_and_shows_the_checkpoint() -> None:
    text = (paths.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- main-command -->", 1)[1].split("```")[1]
    commands = [line for line in block.splitlines()[1:] if line.strip()]
    assert len(commands) == 1
    install, _, command = commands[0].partition(" && ")
    assert "./plugins/emulpickle-numpy" in install
    assert "./plugins/emulpickle-torch" in install
    assert command == "emulpickle show examples/checkpoint.pt"
    assert EXAMPLE_PT.is_file()
