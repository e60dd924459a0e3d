"""The command line's place in the layout: it uses the core and the
plugins' public APIs, nothing imports it, and it works without the torch
plugin (saying how to install it where it is needed)."""

from __future__ import annotations

import ast
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

from helpers import paths

import emulpickle

PACKAGE = Path(emulpickle.__file__).resolve().parent
CLI = PACKAGE / "cli"


def _imports(path: Path) -> list[str]:
    """Absolute names of the modules ``path`` imports."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if path.name == "__init__.py":
        package += ".__init__"
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: -node.level]
                module = ".".join([*base, *filter(None, [node.module])])
            else:
                module = node.module or ""
            names.append(module)
            names += [f"{module}.{alias.name}" for alias in node.names]
    return names


def test_nothing_imports_the_cli() -> None:
    assert (CLI / "__init__.py").is_file()
    for path in PACKAGE.rglob("*.py"):
        if CLI in path.parents or path.name == "__main__.py":
            continue
        for name in _imports(path):
            assert not name.startswith("emulpickle.cli"), (path, name)


def test_the_cli_uses_only_public_plugin_modules() -> None:
    assert (CLI / "plugins.py").is_file()  # where the CLI imports plugins
    for path in CLI.glob("*.py"):
        for name in _imports(path):
            if name.startswith(("emulpickle_torch", "emulpickle_numpy")):
                parts = name.split(".")
                assert not any(p.startswith("_") for p in parts), (path, name)


def _without_torch_plugin(*args: str) -> subprocess.CompletedProcess[str]:
    """``emulpickle ARGS`` in a child where emulpickle_torch cannot be
    imported (as if it were not installed)."""
    code = (
        "import sys, warnings\n"
        "sys.modules['emulpickle_torch'] = None\n"
        "warnings.simplefilter('ignore')\n"
        "from emulpickle.cli import main\n"
        f"raise SystemExit(main({list(args)!r}))\n"
    )
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )


def _torch_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"step": 1}, protocol=2))
    return path


def test_without_the_torch_plugin_pickles_still_load(tmp_path: Path) -> None:
    path = tmp_path / "d.pkl"
    path.write_bytes(pickle.dumps({"a": [1, 2]}))
    for command in ("show", "json", "dis", "scan"):
        proc = _without_torch_plugin(command, str(path))
        assert proc.returncode == 0, (command, proc.stderr)


def _assert_installs_the_torch_plugin(message: str) -> None:
    """The message ends with ``pip install DIR`` (``(from a clone...)``
    after a relative DIR), and DIR is the torch plugin's project: the
    command works as written (from the clone's root if relative)."""
    command = message.split("pip install ", 1)[1].split()
    directory = Path(command[0])
    if not directory.is_absolute():
        directory = paths.REPO_ROOT / directory
    project = (directory / "pyproject.toml").read_text()
    assert 'name = "emulpickle-torch"' in project


def test_without_the_torch_plugin_checkpoints_say_how_to_install_it(
    tmp_path: Path,
) -> None:
    path = _torch_zip(tmp_path / "m.pt")
    for command in ("show", "json"):
        proc = _without_torch_plugin(command, str(path))
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("emulpickle: error: "), proc.stderr
        _assert_installs_the_torch_plugin(proc.stderr)
    proc = _without_torch_plugin("convert", str(path), str(tmp_path / "o.st"))
    assert proc.returncode == 2, proc.stderr
    _assert_installs_the_torch_plugin(proc.stderr)
    # dis reads the zip itself: no plugin needed.
    proc = _without_torch_plugin("dis", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "archive/data.pkl" in proc.stdout


def test_python_dash_m() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "emulpickle", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "show" in proc.stdout and "convert" in proc.stdout
