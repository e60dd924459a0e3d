"""The limits in force for the load running in this context.

Emulators read them through :func:`current_limits` so that a pickle cannot
make an emulator allocate more than the caller allowed.
"""

from __future__ import annotations

from contextvars import ContextVar

from .limits import DEFAULT_LIMITS, Limits

_CURRENT: ContextVar[Limits] = ContextVar("emulpickle_limits", default=DEFAULT_LIMITS)


def current_limits() -> Limits:
    """Return the :class:`Limits` of the load in progress (defaults outside one)."""
    return _CURRENT.get()


def set_limits(limits: Limits) -> object:
    """Make ``limits`` current; returns a token for :func:`reset_limits`."""
    return _CURRENT.set(limits)


def reset_limits(token: object) -> None:
    """Restore the limits that were current before :func:`set_limits`."""
    _CURRENT.reset(token)  # type: ignore[arg-type]
