"""pytest settings for the whole session (the plugins' tests run in it too).

Shared code is in ``tests/helpers`` (imported as ``from helpers import ...``);
fixtures that only one folder uses sit in that folder's ``conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

import emulpickle


def pytest_report_header() -> list[str]:
    """Name the emulpickle under test: PYTHONPATH decides which tree that is."""
    machine = "compiled" if emulpickle.__compiled__ else "pure Python"
    return [f"emulpickle: {Path(emulpickle.__file__).parent} ({machine} machine)"]
