"""The public entry points: install the guard, and the token API.

``emulpickle.guard(manifest=..., mode=...)`` calls :func:`install_guard`
(the ``emulpickle.guard`` package is callable); :func:`no_pickles` and
:func:`~.state.allow_pickles` are the essay's token API.
"""

from __future__ import annotations

import os
import threading

from .manifest import Manifest
from .state import MODES, Guard, Mode, current, set_current

__all__ = ["install_guard", "no_pickles"]

_LOCK = threading.Lock()


def _config(
    manifest: str | os.PathLike[str] | Manifest | None,
) -> tuple[Manifest, str | None]:
    if manifest is None:
        return Manifest(), None
    if isinstance(manifest, Manifest):
        return manifest, None
    path = os.fsdecode(manifest)
    return Manifest.load(path), os.path.abspath(path)


def install_guard(
    manifest: str | os.PathLike[str] | Manifest | None = None,
    mode: Mode = "strict",
) -> Guard:
    """Install the process-wide guard: no pickle loads unless it is pinned.

    Args:
        manifest: the lock file (a path, or a loaded
            :class:`~emulpickle.guard.manifest.Manifest`); None pins nothing.
        mode: ``"strict"`` refuses unpinned pickles
            (:class:`~emulpickle.PickleNotAllowedError`); ``"emulate"`` loads
            them with emulpickle instead (data, never code); ``"audit"``
            loads them as before and reports each one
            (:class:`~emulpickle.guard.state.PickleAuditWarning` and a log
            record on the ``emulpickle.guard`` logger).

    Returns:
        The installed :class:`~emulpickle.guard.state.Guard`. There is no way
        to uninstall it. Calling again with the same mode and manifest file
        returns it; with another configuration raises :class:`RuntimeError`.

    Raises:
        ValueError: an unknown mode.
        ManifestError: the manifest file cannot be read (a ValueError).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}: {mode!r}")
    with _LOCK:
        installed = current()
        if installed is not None:
            same_file = (
                installed.manifest_path is not None
                and not isinstance(manifest, Manifest)
                and manifest is not None
                and installed.manifest_path == os.path.abspath(os.fsdecode(manifest))
            )
            same_object = manifest is installed.manifest
            if installed.mode == mode and (same_file or same_object):
                return installed
            raise RuntimeError(
                f"a guard is installed already ({installed!r}); it cannot be "
                "replaced or removed"
            )
        loaded, path = _config(manifest)
        guard = Guard(mode, loaded, path)
        # Import the patches before the guard goes live: what they import
        # must not pass through half-installed hooks.
        from .intercept import install

        set_current(guard)
        install()
        return guard


def no_pickles() -> object:
    """Refuse every pickle from now on; return the token that allows some.

    Installs a strict guard with an empty manifest unless a guard is
    installed already (then that one is kept). The token is handed out once
    per process: call this early, in the application, so a library cannot
    get it; use it with :func:`emulpickle.allow_pickles`.

    Raises:
        RuntimeError: the token was handed out already.
    """
    with _LOCK:
        installed = current()
    guard = installed if installed is not None else install_guard(None, "strict")
    with _LOCK:
        if guard._token_issued:
            raise RuntimeError("emulpickle.no_pickles() hands out its token once")
        guard._token_issued = True
        return guard._token
