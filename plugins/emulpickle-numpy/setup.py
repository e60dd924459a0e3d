"""Build script: compiles the plugin's fast paths with mypyc when it can.

All metadata lives in ``pyproject.toml``. ``src/emulpickle_numpy/_fast.py``
is compiled with mypyc when mypy (a build requirement) type-checks it and a C
compiler works; otherwise, or with ``EMULPICKLE_NO_COMPILE=1`` (as for
emulpickle itself), the plugin is installed pure Python after one line on
stderr, and runs the same code interpreted.

A build that compiled writes ``_fast.stamp`` beside the extension: the CRC-32
and size of the ``_fast.py`` it compiled. ``emulpickle_numpy._fastload``
uses the extension only while the source still matches the stamp.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import io
import os
import sys
import tempfile
import zlib

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

PACKAGE = "emulpickle_numpy"
SOURCE = os.path.join("src", PACKAGE, "_fast.py")
STAMP = "_fast.stamp"
#: Only ``_fast`` has to type-check: numpy and emulpickle need not be
#: installed in the build environment (they are then ``Any`` to mypy).
MYPY_CONFIG = f"""\
[mypy]
ignore_missing_imports = True
[mypy-{PACKAGE}.*]
ignore_errors = True
[mypy-{PACKAGE}._fast]
ignore_errors = False
"""
#: Commands that only read metadata: they never compile.
METADATA_ONLY = {"egg_info", "dist_info", "sdist", "check"}


def say(message: str) -> None:
    print(f"emulpickle-numpy: {message}", file=sys.stderr)


def stamp_of(path: str) -> str:
    """What ``_fastload`` expects in ``_fast.stamp`` for the source ``path``."""
    with open(path, "rb") as f:
        source = f.read()
    return f"{zlib.crc32(source):08x} {len(source)}\n"


@functools.cache
def compile_fast() -> tuple[list[Extension], str]:
    """mypyc's extensions for ``_fast.py`` and the stamp, or ``([], "")``
    after saying why not.

    Once per process: setuptools may finalize ``build_ext`` more than once.
    """
    if os.environ.get("EMULPICKLE_NO_COMPILE", "").strip() not in ("", "0"):
        say("EMULPICKLE_NO_COMPILE is set; installing the pure Python plugin")
        return [], ""
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            from mypyc.build import mypycify

            stamp = stamp_of(SOURCE)
            with tempfile.TemporaryDirectory() as tmp:
                config = os.path.join(tmp, "mypy.ini")
                with open(config, "w") as f:
                    f.write(MYPY_CONFIG)
                extensions = list(
                    mypycify(["--config-file", config, SOURCE], opt_level="3")
                )
    except (Exception, SystemExit) as exc:
        lines = [line for line in log.getvalue().splitlines() if line.strip()]
        why = lines[0] if lines else repr(exc)
        say(f"mypyc cannot compile {SOURCE} ({why}); installing the pure plugin")
        return [], ""
    return extensions, stamp


class BuildFast(build_ext):
    """Builds mypyc's extensions in place of the placeholder, or nothing.

    The placeholder stays when nothing is compiled, so that this command still
    runs and clears what an earlier in-place build compiled.
    """

    stamp = ""

    def finalize_options(self) -> None:
        compiling = bool(set(self.distribution.commands) - METADATA_ONLY)
        extensions: list[Extension] = []
        if compiling:
            extensions, self.stamp = compile_fast()
        if extensions:
            self.distribution.ext_modules = extensions
        super().finalize_options()
        if compiling and not extensions:
            self.extensions = []

    def run(self) -> None:
        if not self.extensions:
            self._clear_products()
            return
        inplace = self.inplace
        try:
            super().run()
        except Exception as exc:
            self.inplace = inplace  # build_ext.run() resets it while building
            say(f"could not compile {SOURCE} ({exc}); installing the pure plugin")
            self.extensions = []
            self._clear_products()
            return
        for directory in self._package_dirs():
            with open(os.path.join(directory, STAMP), "w") as f:
                f.write(self.stamp)

    def _clear_products(self) -> None:
        """Remove compiled fast paths (from earlier in-place builds too)."""
        for directory in self._package_dirs():
            for path in glob.glob(os.path.join(directory, "_fast*.*")):
                if path.endswith((".so", ".pyd", ".stamp")):
                    os.remove(path)

    def _package_dirs(self) -> list[str]:
        """The build directory, and the source tree for in-place builds."""
        dirs = [os.path.join(self.build_lib, PACKAGE)]
        if self.inplace:
            build_py = self.get_finalized_command("build_py")
            dirs.append(os.path.abspath(build_py.get_package_dir(PACKAGE)))
        return [d for d in dirs if os.path.isdir(d)]


PLACEHOLDER = Extension(f"{PACKAGE}._fast", sources=[])

setup(ext_modules=[PLACEHOLDER], cmdclass={"build_ext": BuildFast})
