"""Run the ``emulpickle`` command as a user does, and check its errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def _command() -> list[str]:
    script = Path(sys.executable).parent / "emulpickle"
    if script.exists():
        return [str(script)]
    found = shutil.which("emulpickle")
    return [found] if found else [sys.executable, "-m", "emulpickle"]


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run ``emulpickle ARGS`` with plain output."""
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    return subprocess.run(
        [*_command(), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )


def assert_error(proc: subprocess.CompletedProcess[str], status: int) -> None:
    assert proc.returncode == status, (proc.stdout, proc.stderr)
    assert proc.stderr.startswith("emulpickle: error: "), proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
