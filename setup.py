"""Build script: compiles the opcode machine and the scanner's walker with mypyc.

All metadata lives in ``pyproject.toml``; this file only adds the optional C
extensions. ``emulpickle/machine/vm.py`` (the opcode machine) and
``emulpickle/scanner/walk.py`` (the scanner's opcode walker) are compiled with
mypyc when mypy (a build requirement) imports, type-checks them and a C
compiler works. If any of that fails, or ``EMULPICKLE_NO_COMPILE=1`` is set,
the package is built pure Python instead (neither module compiled): one line
on stderr says why, and the install goes on.

A successful build also writes a stamp next to each extension, in its own
directory (``emulpickle/machine/vm.stamp``, ``emulpickle/scanner/walk.stamp``):
the CRC-32 and size of the source it was compiled from. At import time
``emulpickle.machine.selection`` uses the extensions only while every source
still matches its stamp, so an editable install never runs a stale compiled
module after one is edited (rebuild with ``pip install -e .`` to compile
again).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import zlib
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PACKAGE = "emulpickle"
# The modules compiled, all in one build, relative to the package
# (``emulpickle.machine.selection.COMPILED_MODULES``).
COMPILED = ("machine.vm", "scanner.walk")
VM_MODULE = f"{PACKAGE}.{COMPILED[0]}"
SOURCES = [os.path.join(PACKAGE, *name.split(".")) + ".py" for name in COMPILED]
WHAT = " and ".join(SOURCES)
MYPYC_CONFIG = f"""\
[mypy]
[mypy-{PACKAGE}.*]
ignore_errors = True
[mypy-{",".join(f"{PACKAGE}.{name}" for name in COMPILED)}]
ignore_errors = False
"""


_noted: set[str] = set()


def _note(message: str) -> None:
    if message not in _noted:
        _noted.add(message)
        print(f"emulpickle: {message}", file=sys.stderr)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def source_stamp(path: str) -> str:
    """The stamp of a compiled module's source (the format ``selection`` checks)."""
    with open(path, "rb") as f:
        source = f.read()
    return f"{zlib.crc32(source):08x} {len(source)}\n"


def compile_requested() -> bool:
    if os.environ.get("EMULPICKLE_NO_COMPILE", "").strip() not in ("", "0"):
        _note("EMULPICKLE_NO_COMPILE is set; building the pure Python package")
        return False
    return True


# What mypyc made of the sources in this process: the stamp of the source it
# compiled for each compiled module, or "failure" (why it could not).
_mypyc_result: dict[str, str] = {}


def mypyc_extensions() -> list[Extension]:
    """mypyc's extensions for the compiled modules, or [] (once per process)."""
    if _mypyc_result:
        return []
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            from mypyc.build import mypycify

            stamps = {
                name: source_stamp(path)
                for name, path in zip(COMPILED, SOURCES, strict=True)
            }
            with tempfile.TemporaryDirectory() as tmp:
                # mypy's defaults, not the project's strict settings (or a
                # user's config), and only the compiled modules' own errors
                # count: what other modules get flagged for varies with the
                # mypy version.
                config = os.path.join(tmp, "mypy.ini")
                with open(config, "w") as f:
                    f.write(MYPYC_CONFIG)
                paths = ["--config-file", config, *SOURCES]
                # One shared library per module (``<module>__mypyc``), next
                # to it in its directory: they do not call each other.
                extensions = list(mypycify(paths, opt_level="3", separate=True))
    except (Exception, SystemExit) as exc:
        why = _first_line(output.getvalue()) or _first_line(str(exc)) or repr(exc)
        _mypyc_result["failure"] = f"mypyc cannot compile {WHAT} ({why})"
        return []
    _mypyc_result.update(stamps)
    return extensions


class OptionalBuildExt(build_ext):
    """Compiles the modules with mypyc, or builds nothing if that fails.

    ``setup()`` gets a placeholder extension, so that ``build_ext`` runs and
    the wheel is platform-specific; mypyc turns the sources into C only in a
    build, not for the metadata-only commands, which finalize this command
    too (to list extension sources).
    """

    def finalize_options(self) -> None:
        compiling = not set(self.distribution.commands) <= METADATA_COMMANDS
        if compiling and PLACEHOLDER in (self.distribution.ext_modules or []):
            extensions = mypyc_extensions()
            if extensions:
                self.distribution.ext_modules = extensions
        super().finalize_options()
        if compiling and _mypyc_result.get("failure"):
            self._fall_back(_mypyc_result["failure"])

    def run(self) -> None:
        if not self.extensions:
            super().run()
            return
        inplace = self.inplace
        try:
            super().run()
        except Exception as exc:
            self.inplace = inplace  # build_ext.run() clears it while building
            reason = _first_line(str(exc)) or type(exc).__name__
            self._fall_back(f"could not compile {WHAT} ({reason})")
            return
        for directory in self._package_dirs():
            if os.path.isdir(directory):
                for name in COMPILED:
                    with open(_beside(directory, name, ".stamp"), "w") as f:
                        f.write(_mypyc_result[name])

    def _fall_back(self, reason: str) -> None:
        _note(f"{reason}; installing the pure Python package")
        # Remove partial products, and in place (editable installs) older
        # ones: an install that fell back runs the pure modules.
        modules = [f"{PACKAGE}.{name}" for name in COMPILED]
        names = {*modules, *(f"{m}__mypyc" for m in modules)}
        names.update(e.name for e in self.extensions)
        # Each extension's path below the package directory.
        files = [
            self.get_ext_filename(n).split(os.sep, 1)[1]
            for n in sorted(names)
            if n.startswith(f"{PACKAGE}.")
        ]
        stamps = [_beside("", name, ".stamp") for name in COMPILED]
        for directory in self._package_dirs():
            for name in [*files, *stamps]:
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(directory, name))
        self.extensions = []

    def _package_dirs(self) -> list[str]:
        """Where the extensions land: the build dir, and the source tree too
        for in-place (``build_ext --inplace``) and editable builds."""
        dirs = [os.path.join(self.build_lib, PACKAGE)]
        if self.inplace:
            build_py = self.get_finalized_command("build_py")
            dirs.append(os.path.abspath(build_py.get_package_dir(PACKAGE)))
        return dirs


def _beside(directory: str, module: str, suffix: str) -> str:
    """The file ``suffix`` of ``module`` (``machine.vm``) in package ``directory``."""
    return os.path.join(directory, *module.split(".")) + suffix


#: The start-up hook (``docs/guard.md``): site.py runs this line of every
#: ``.pth`` file in site-packages when an interpreter starts. It imports
#: emulpickle only when EMULPICKLE_GUARD is set, so other interpreters pay
#: one environment lookup.
GUARD_PTH = "emulpickle_guard.pth"
GUARD_PTH_LINE = (
    'import os; os.environ.get("EMULPICKLE_GUARD") '
    'and __import__("emulpickle._guard_boot")\n'
)


class BuildPyWithPth(build_py):
    """build_py that also puts the guard's ``.pth`` at the root of the build
    (the wheel's purelib, i.e. site-packages), where site.py finds it."""

    def run(self) -> None:
        super().run()
        target = os.path.join(self.build_lib, GUARD_PTH)
        self.mkpath(self.build_lib)
        with open(target, "w") as f:
            f.write(GUARD_PTH_LINE)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        return [*outputs, os.path.join(self.build_lib, GUARD_PTH)]


class _WithPth:
    """An editable wheel's strategy, plus the guard's ``.pth`` file."""

    def __init__(self, strategy: Any) -> None:
        self.strategy = strategy

    def __enter__(self) -> Any:
        return self.strategy.__enter__()

    def __exit__(self, *exc: object) -> Any:
        return self.strategy.__exit__(*exc)

    def __call__(self, wheel: Any, files: Any, mapping: Any) -> None:
        self.strategy(wheel, files, mapping)
        wheel.writestr(GUARD_PTH, GUARD_PTH_LINE)


class EditableWheelWithPth(editable_wheel):
    """``pip install -e .`` builds a wheel of its own .pth and a finder, not
    of build_py's outputs; this adds the guard's .pth to it. It hooks a
    private method of setuptools: if that changes, an editable install goes
    on without the .pth (docs/guard.md says how to add it by hand)."""

    def _select_strategy(self, *args: Any, **kwargs: Any) -> Any:
        return _WithPth(super()._select_strategy(*args, **kwargs))  # type: ignore[misc]


PLACEHOLDER = Extension(VM_MODULE, sources=[])
METADATA_COMMANDS = {"egg_info", "dist_info", "sdist", "check"}

setup(
    ext_modules=[PLACEHOLDER] if compile_requested() else [],
    cmdclass={
        "build_ext": OptionalBuildExt,
        "build_py": BuildPyWithPth,
        "editable_wheel": EditableWheelWithPth,
    },
)
