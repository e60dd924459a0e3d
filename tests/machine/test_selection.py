"""Which code runs: compiled ``machine.vm`` and ``scanner.walk``, or their sources."""

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
from emulpickle import unpickler
from emulpickle.machine import selection as _machine
from emulpickle.scanner import joblib as _scan_joblib
from emulpickle.scanner import walk as _scan_walk

PACKAGE_DIR = Path(emulpickle.__file__).resolve().parent

PROBE = textwrap.dedent(
    """
    import json, pickle, sys, warnings
    if sys.argv[1:] == ["strict"]:
        warnings.simplefilter("error")
    import emulpickle
    from emulpickle.machine import selection as _machine
    from emulpickle.scanner import joblib as _scan_joblib, walk as _scan_walk
    from emulpickle.scan import scan
    data = {"a": [1, 2.5, "x", b"y", (None, True)], "b": {3, 4}}
    assert emulpickle.loads(pickle.dumps(data, protocol=5)) == data
    assert emulpickle.loads(pickle.dumps(data, protocol=0)) == data
    # The scanner catches what its walkers raise: a truncated pickle naming
    # joblib's wrapper is walked by both.
    wrapper = b"\\x8c\\x13joblib.numpy_pickle\\x8c\\x11NumpyArrayWrapper\\x93"
    report = scan(b"\\x80\\x04" + wrapper + b")\\x81")
    assert report.errors == ["pickle #1: pickle data was truncated (at offset 45)"]
    print(json.dumps({
        "compiled": emulpickle.__compiled__,
        "machine_module": _machine.Machine.__module__,
        "vm_imported": "emulpickle.machine.vm" in sys.modules,
        "walker_compiled": _machine.is_extension(_scan_walk),
        "one_walker": sys.modules["emulpickle.scanner.walk"] is _scan_walk
        and _scan_joblib.Broken is _scan_walk.Broken,
    }))
    """
)


def module_file(package_dir: Path, module: str, suffix: str) -> Path:
    """A compiled module's file, e.g. ``machine/vm.py`` for ``machine.vm``."""
    return package_dir.joinpath(*module.split(".")).with_suffix(suffix)


def built_extensions(package_dir: Path) -> list[Path]:
    """The compiled modules' extensions next to their sources."""
    return [
        path
        for module in _machine.COMPILED_MODULES
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
        if (path := module_file(package_dir, module, suffix)).exists()
    ]


def extensions_are_current(package_dir: Path) -> bool:
    for module in _machine.COMPILED_MODULES:
        source = module_file(package_dir, module, ".py").read_bytes()
        stamp = module_file(package_dir, module, ".stamp")
        expected = f"{zlib.crc32(source):08x} {len(source)}"
        if not stamp.exists() or stamp.read_text().strip() != expected:
            return False
    return True


def probe(
    package_parent: Path, *, pure: bool, cwd: Path, strict: bool = True
) -> tuple[dict[str, object], str]:
    """What a fresh interpreter importing ``package_parent/emulpickle`` runs,
    and what it wrote on stderr."""
    env = {k: v for k, v in os.environ.items() if k != "EMULPICKLE_PURE"}
    if pure:
        env["EMULPICKLE_PURE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(package_parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "strict" if strict else "lenient"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    decoded: dict[str, object] = json.loads(result.stdout)
    return decoded, result.stderr


def installed_copy(tmp_path: Path) -> Path:
    """A copy of the package with its extensions; returns its parent."""
    if len(built_extensions(PACKAGE_DIR)) != len(_machine.COMPILED_MODULES):
        pytest.skip("the compiled extensions were not built")
    copy = tmp_path / "site" / "emulpickle"
    shutil.copytree(
        PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", ".*")
    )
    return copy.parent


def test_unpickler_uses_the_selected_machine() -> None:
    names = vars(unpickler)
    assert names["Machine"] is _machine.Machine
    assert names["Passthrough"] is _machine.Passthrough
    assert emulpickle.__compiled__ is _machine.compiled
    assert isinstance(emulpickle.__compiled__, bool)


def test_scanner_uses_the_selected_walker() -> None:
    assert _machine.is_extension(_scan_walk) is emulpickle.__compiled__
    assert _scan_joblib.Broken is _scan_walk.Broken


def test_pure_env_forces_the_python_sources(tmp_path: Path) -> None:
    info, _ = probe(PACKAGE_DIR.parent, pure=True, cwd=tmp_path)
    assert info["compiled"] is False
    assert info["machine_module"] == "emulpickle.machine.vm_pure"
    # The extension is not even imported.
    assert info["vm_imported"] is False
    assert info["walker_compiled"] is False
    assert info["one_walker"] is True


def test_compiled_modules_are_used_when_built(tmp_path: Path) -> None:
    extensions = built_extensions(PACKAGE_DIR)
    if not extensions:
        pytest.skip(
            f"no compiled extensions in {PACKAGE_DIR} (pure Python install: "
            "no C compiler or EMULPICKLE_NO_COMPILE=1)"
        )
    if not extensions_are_current(PACKAGE_DIR):
        pytest.skip(
            "the extensions were compiled from older sources; "
            "rebuild them with pip install -e ."
        )
    info, _ = probe(PACKAGE_DIR.parent, pure=False, cwd=tmp_path)
    assert info["compiled"] is True
    assert info["machine_module"] == "emulpickle.machine.vm"
    assert info["walker_compiled"] is True
    assert info["one_walker"] is True


@pytest.mark.parametrize("module", _machine.COMPILED_MODULES)
def test_stale_extension_is_not_used(tmp_path: Path, module: str) -> None:
    """One edited source: neither extension runs, and the scanner's modules
    use the same (Python) walker."""
    site = installed_copy(tmp_path)
    with open(module_file(site / "emulpickle", module, ".py"), "a") as f:
        f.write("\n# edited after it was compiled\n")
    info, stderr = probe(site, pure=False, cwd=tmp_path, strict=False)
    assert info["compiled"] is False
    assert info["machine_module"] == "emulpickle.machine.vm_pure"
    assert info["walker_compiled"] is False
    assert info["one_walker"] is True
    assert "not using the compiled modules" in stderr
    shown = module.replace(".", "/")
    assert f"{shown}.py changed since it was compiled" in stderr


def test_missing_scanner_stamp_falls_back(tmp_path: Path) -> None:
    site = installed_copy(tmp_path)
    module_file(site / "emulpickle", "scanner.walk", ".stamp").unlink()
    info, stderr = probe(site, pure=False, cwd=tmp_path, strict=False)
    assert info["compiled"] is False
    assert info["walker_compiled"] is False
    assert info["one_walker"] is True
    assert "scanner/walk.stamp is missing" in stderr
