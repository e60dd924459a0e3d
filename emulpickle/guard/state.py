"""The guard's process-wide state and the one decision it makes per load.

:func:`decide` answers, for the sha256 of bytes about to be unpickled, how
they load: with the real ``pickle`` (pinned, or allowed by
:func:`allow_pickles`), through emulpickle, or not at all
(:class:`~emulpickle.PickleNotAllowedError`). Whether the current code runs
inside a load the guard verified is context-local (:mod:`contextvars`), so a
verified load in one thread or task never lets an unverified one through in
another.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Literal

from ..errors import PickleNotAllowedError
from .manifest import Manifest, normalize_sha256

__all__ = [
    "MODES",
    "Action",
    "Guard",
    "Mode",
    "PickleAuditWarning",
    "allow_pickles",
    "current",
    "decide",
    "inside_verified",
    "report",
    "verified",
]

Mode = Literal["strict", "emulate", "audit"]
MODES: tuple[Mode, ...] = ("strict", "emulate", "audit")

#: How one load goes: the real ``pickle``, or emulpickle.
Action = Literal["pickle", "emulate"]

#: Where audit reports go (every unpinned load, one WARNING record each).
LOG = logging.getLogger("emulpickle.guard")


class PickleAuditWarning(UserWarning):
    """An unpinned pickle was loaded under ``guard(mode="audit")``.

    Each such load also logs one WARNING record on the ``emulpickle.guard``
    logger (warnings filters may show a warning once per call site; the log
    has every load).
    """


class Guard:
    """The installed guard: its mode and manifest (see :func:`emulpickle.guard`).

    Attributes:
        mode: ``"strict"``, ``"emulate"`` or ``"audit"``.
        manifest: the :class:`~emulpickle.guard.manifest.Manifest` consulted.
        manifest_path: the manifest's file, when it was given as one.
    """

    def __init__(self, mode: Mode, manifest: Manifest, manifest_path: str | None):
        self.mode: Mode = mode
        self.manifest = manifest
        self.manifest_path = manifest_path
        # Handed out once, by the first no_pickles() call.
        self._token: object = object()
        self._token_issued = False

    def __repr__(self) -> str:
        return (
            f"Guard(mode={self.mode!r}, manifest_path={self.manifest_path!r}, "
            f"pinned={len(self.manifest)})"
        )


_GUARD: Guard | None = None

#: True while the real unpickler runs a load the guard verified.
_VERIFIED: ContextVar[bool] = ContextVar("emulpickle_guard_verified", default=False)
#: The hashes an allow_pickles() block lets through (context-local).
_ALLOWED: ContextVar[frozenset[str]] = ContextVar(
    "emulpickle_guard_allowed", default=frozenset()
)


def current() -> Guard | None:
    """The installed guard, or None."""
    return _GUARD


def set_current(guard: Guard) -> None:
    """Record ``guard`` as the process's guard (once; the installer checks)."""
    global _GUARD
    _GUARD = guard


def inside_verified() -> bool:
    """Whether the caller runs inside a load the guard verified."""
    return _VERIFIED.get()


class verified:  # lower case: used like a function, ``with verified():``
    """Mark the block as a verified load: nested loads and globals pass.

    A class, not a generator context manager: it runs on every guarded load.
    """

    __slots__ = ("_reset",)

    def __enter__(self) -> None:
        self._reset = _VERIFIED.set(True)

    def __exit__(self, *exc: object) -> None:
        _VERIFIED.reset(self._reset)


def decide(sha256: str, path: str | None, what: str) -> Action:
    """How bytes with this sha256 load under the installed guard.

    Raises:
        PickleNotAllowedError: in strict mode, for bytes not pinned and not
            allowed by an :func:`allow_pickles` block.
    """
    guard = _GUARD
    if guard is None:
        return "pickle"
    manifest = guard.manifest
    entry = manifest.get(sha256)  # one dict lookup for a normalised hash
    if entry is not None:
        return "emulate" if entry.trust == "emulate" else "pickle"
    if sha256 in _ALLOWED.get():
        return "pickle"
    if guard.mode == "strict":
        raise PickleNotAllowedError(sha256, path=path, manifest=guard.manifest_path)
    if guard.mode == "emulate":
        return "emulate"
    report(f"{what} loaded unpinned pickle", sha256=sha256, path=path)
    return "pickle"


def report(message: str, *, sha256: str | None, path: str | None) -> None:
    """An audit-mode report: a PickleAuditWarning and a log record."""
    where = "" if path is None else f" from {path!r}"
    digest = f" (sha256:{sha256})" if sha256 else ""
    text = f"emulpickle guard (audit): {message}{where}{digest}"
    LOG.warning(text, extra={"sha256": sha256, "pickle_path": path})
    warnings.warn(text, PickleAuditWarning, stacklevel=4)


@contextlib.contextmanager
def allow_pickles(token: object, only: Iterable[str]) -> Iterator[None]:
    """Let exactly the pickles with these hashes load inside the block.

    Args:
        token: what :func:`emulpickle.no_pickles` returned.
        only: ``"sha256:<hex>"`` (or bare hex) digests; the allowance is
            context-local (other threads and tasks do not get it) and ends
            with the block.

    Raises:
        PermissionError: ``token`` is not the guard's token.
        ManifestError: an entry of ``only`` is not a sha256 (a ValueError).
    """
    guard = _GUARD
    if guard is None or not guard._token_issued or token is not guard._token:
        raise PermissionError(
            "allow_pickles() needs the token emulpickle.no_pickles() returned"
        )
    hashes = frozenset(normalize_sha256(sha) for sha in only)
    reset = _ALLOWED.set(_ALLOWED.get() | hashes)
    try:
        yield
    finally:
        _ALLOWED.reset(reset)
