"""Estimator-level checks: fitted arrays an estimator hands to C code.

Filled in by the modules below; :data:`CHECKS` maps a class's qualified
name to a function raising :class:`emulpickle.EmulationError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["CHECKS"]

CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {}
