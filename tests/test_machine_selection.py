"""Which opcode machine runs: the mypyc-compiled ``_vm`` or its Python source."""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

import emulpickle
from emulpickle import _machine, unpickler

PACKAGE_DIR = Path(emulpickle.__file__).resolve().parent

PROBE = textwrap.dedent(
    """
    import json, pickle, sys, warnings
    warnings.simplefilter("error")
    import emulpickle
    from emulpickle import _machine
    data = {"a": [1, 2.5, "x", b"y", (None, True)], "b": {3, 4}}
    assert emulpickle.loads(pickle.dumps(data, protocol=5)) == data
    assert emulpickle.loads(pickle.dumps(data, protocol=0)) == data
    print(json.dumps({
        "compiled": emulpickle.__compiled__,
        "machine_module": _machine.Machine.__module__,
        "vm_imported": "emulpickle._vm" in sys.modules,
    }))
    """
)


def built_extension(package_dir: Path) -> Path | None:
    """The compiled ``_vm`` extension next to ``_vm.py``, if one was built."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = package_dir / f"_vm{suffix}"
        if path.exists():
            return path
    return None


def extension_is_current(package_dir: Path) -> bool:
    source = (package_dir / "_vm.py").read_bytes()
    stamp = package_dir / _machine.STAMP_NAME
    return (
        stamp.exists()
        and stamp.read_text().strip() == f"{zlib.crc32(source):08x} {len(source)}"
    )


def probe(package_parent: Path, *, pure: bool, cwd: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "EMULPICKLE_PURE"}
    if pure:
        env["EMULPICKLE_PURE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(package_parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    decoded: dict[str, object] = json.loads(result.stdout)
    return decoded


def test_unpickler_uses_the_selected_machine() -> None:
    names = vars(unpickler)
    assert names["Machine"] is _machine.Machine
    assert names["Passthrough"] is _machine.Passthrough
    assert emulpickle.__compiled__ is _machine.compiled
    assert isinstance(emulpickle.__compiled__, bool)


def test_pure_env_forces_the_python_source(tmp_path: Path) -> None:
    info = probe(PACKAGE_DIR.parent, pure=True, cwd=tmp_path)
    assert info["compiled"] is False
    assert info["machine_module"] == "emulpickle._vm_pure"
    # The extension is not even imported.
    assert info["vm_imported"] is False


def test_compiled_machine_is_used_when_built(tmp_path: Path) -> None:
    extension = built_extension(PACKAGE_DIR)
    if extension is None:
        pytest.skip(
            f"no compiled _vm extension next to {PACKAGE_DIR / '_vm.py'} "
            "(pure Python install: no C compiler or EMULPICKLE_NO_COMPILE=1)"
        )
    if not extension_is_current(PACKAGE_DIR):
        pytest.skip(
            f"{extension.name} was compiled from an older _vm.py; "
            "rebuild it with pip install -e ."
        )
    info = probe(PACKAGE_DIR.parent, pure=False, cwd=tmp_path)
    assert info["compiled"] is True
    assert info["machine_module"] == "emulpickle._vm"


def test_stale_extension_is_not_used(tmp_path: Path) -> None:
    if built_extension(PACKAGE_DIR) is None:
        pytest.skip("no compiled _vm extension was built")
    copy = tmp_path / "site" / "emulpickle"
    shutil.copytree(
        PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", ".*")
    )
    with open(copy / "_vm.py", "a") as f:
        f.write("\n# edited after it was compiled\n")
    env = {k: v for k, v in os.environ.items() if k != "EMULPICKLE_PURE"}
    env["PYTHONPATH"] = str(copy.parent)
    result = subprocess.run(
        [sys.executable, "-c", "import emulpickle; print(emulpickle.__compiled__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert "not using the compiled machine" in result.stderr
