"""Where the checkout's files are, for tests that read them or run children.

Tests live at different depths below ``tests/``; these names do not depend on
where a test module sits.
"""

from __future__ import annotations

from pathlib import Path

#: The root of the checkout (what a child's ``PYTHONPATH`` needs to import
#: this tree's emulpickle).
REPO_ROOT = Path(__file__).resolve().parents[2]
