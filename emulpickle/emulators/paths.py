"""Emulators for ``pathlib`` paths, answered by their pure twins.

Concrete paths (``PosixPath``, ``WindowsPath``, ``Path``) come back as
``PurePosixPath`` / ``PureWindowsPath`` / ``PurePath``, which never touch the
file system; ``pathlib`` is imported only when a pickle needs it. Imports
only ``base``.
"""

from __future__ import annotations

from .base import Entry, StdlibEmulator, entries_of, exact_str

__all__ = ["entries"]

#: Each path class a pickle may name, and the pure class that answers it.
_TWINS = {
    "PurePath": "PurePath", "PurePosixPath": "PurePosixPath",
    "PureWindowsPath": "PureWindowsPath", "Path": "PurePath",
    "PosixPath": "PurePosixPath", "WindowsPath": "PureWindowsPath",
}  # fmt: skip


def _path(module: str, name: str, twin: str) -> StdlibEmulator:
    what = f"{module}.{name}"

    def make(*args: object) -> object:
        import pathlib

        parts = [exact_str(what, arg) for arg in args]
        cls: type = getattr(pathlib, twin)
        return cls(*parts)

    return StdlibEmulator(module, name, make)


def entries() -> list[Entry]:
    """The emulators of this family (``pathlib`` and ``pathlib._local``)."""
    return entries_of(
        [
            _path(module, name, twin)
            for module in ("pathlib", "pathlib._local")
            for name, twin in _TWINS.items()
        ]
    )
