"""EMULPICKLE_GUARD activation: the boot module, the wheel's .pth, a fresh venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from helpers.guard_child import child_env, run_child
from helpers.paths import REPO_ROOT

GOOD = "import pickle\nGOOD = pickle.dumps({'ok': [1, 2]}, 2)\n"


def test_boot_module_installs_the_guard_from_the_variable(tmp_path: Path) -> None:
    # The manifest is written by a first child (the variable must name it
    # before the second one starts).
    run_child(tmp_path, GOOD + "pin('m.lock', GOOD)\n")
    code = GOOD + (
        "import emulpickle._guard_boot, emulpickle\n"
        "print('mode=' + emulpickle.guard.api.current().mode)\n"
        "outcome('evil', lambda: pickle.loads(EVIL))\n"
        "outcome('good', lambda: pickle.loads(GOOD))\n"
    )
    outcomes, process, canary = run_child(
        tmp_path, code, EMULPICKLE_GUARD=f"strict:{tmp_path / 'm.lock'}"
    )
    assert not canary
    assert outcomes["mode"] == "strict", process.stderr[-2000:]
    assert outcomes["evil"] == "PickleNotAllowedError"
    assert outcomes["good"] == "LOADED"


def test_boot_module_does_nothing_without_the_variable(tmp_path: Path) -> None:
    code = (
        "import emulpickle._guard_boot, sys\n"
        "print('guard=' + str('emulpickle.guard' in sys.modules))\n"
    )
    outcomes, _, _ = run_child(tmp_path, code)
    assert outcomes["guard"] == "False"


@pytest.mark.parametrize("value", ["bogus", "lenient:x", "strict:/no/such/manifest"])
def test_a_bad_value_stops_the_interpreter(tmp_path: Path, value: str) -> None:
    """Fail closed: a guard was asked for and cannot be installed."""
    code = "import emulpickle._guard_boot\nprint('ran=yes')\n"
    outcomes, process, _ = run_child(tmp_path, code, EMULPICKLE_GUARD=value)
    assert process.returncode == 2
    assert "ran" not in outcomes
    assert (
        "EMULPICKLE_GUARD" in process.stderr and "refusing to start" in process.stderr
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This tree built as a (pure Python) wheel."""
    # The build runs without isolation (no network needed), so it needs the
    # build backend in this environment: the dev install has it; a bare test
    # venv (CI's job without torch) may not.
    for backend in ("setuptools", "wheel"):
        pytest.importorskip(backend, reason="the build backend is not installed")
    out = tmp_path_factory.mktemp("wheel")
    # A copy of the sources: building in the checkout would leave build/.
    build = tmp_path_factory.mktemp("build") / "src"
    build.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, build / name)
    shutil.copytree(
        REPO_ROOT / "emulpickle",
        build / "emulpickle",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.stamp"),
    )
    env = dict(os.environ, EMULPICKLE_NO_COMPILE="1")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(build),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
        ],
        check=True,
        env=env,
        cwd=build,
        capture_output=True,
        timeout=600,
    )
    (found,) = out.glob("emulpickle-*.whl")
    return found


def test_the_wheel_installs_the_pth(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        line = z.read("emulpickle_guard.pth").decode()
        assert "emulpickle/_guard_boot.py" in z.namelist()
    assert line.startswith("import ") and "emulpickle._guard_boot" in line
    assert "EMULPICKLE_GUARD" in line  # imports nothing when the variable is unset


def test_pth_activates_the_guard_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    """``python -c "import pickle; pickle.loads(...)"`` is guarded with no
    code change: site.py runs the installed .pth before anything else."""
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        check=True,
        timeout=120,
    )
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [
            str(python),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with zipfile.ZipFile(wheel) as z:  # what pip install does with a pure wheel
        z.extractall(purelib)
    # The core's two dependencies, from this interpreter's environment.
    deps = sysconfig.get_paths()["purelib"]
    Path(purelib, "deps.pth").write_text(deps + "\n")
    canary = tmp_path / "canary"
    evil = b"cos\nsystem\n(Vtouch " + str(canary).encode() + b"\ntR."
    (tmp_path / "evil.pkl").write_bytes(evil)
    (tmp_path / "empty.lock").write_text('{"emulpickle-manifest": 1, "pickles": []}')
    code = (
        "import pickle, sys\n"
        "print('guarded=' + str('emulpickle.guard' in sys.modules))\n"
        "pickle.load(open(sys.argv[1], 'rb'))\n"
    )
    env = child_env(tmp_path, EMULPICKLE_GUARD=f"strict:{tmp_path / 'empty.lock'}")
    env.pop("PYTHONPATH")
    result = subprocess.run(
        [str(python), "-c", code, str(tmp_path / "evil.pkl")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert "guarded=True" in result.stdout, result.stderr[-2000:]
    assert "PickleNotAllowedError" in result.stderr
    assert not canary.exists()
    # Without the variable, nothing of emulpickle is imported at start-up.
    env.pop("EMULPICKLE_GUARD")
    result = subprocess.run(
        [str(python), "-c", "import sys; print('emulpickle' in sys.modules)"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "False"
