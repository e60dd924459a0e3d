"""The limits in force for the load running in this context.

Emulators read them through :func:`current_limits` so that a pickle cannot
make an emulator allocate more than the caller allowed. The load's hash key
checker is kept here too, so that :func:`emulpickle.check_hash_keys` counts
keys per container across the calls of one load.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, cast

from .limits import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:
    from ._hashkeys import HashKeyChecker

_CURRENT: ContextVar[Limits] = ContextVar("emulpickle_limits", default=DEFAULT_LIMITS)
_KEYS: ContextVar[HashKeyChecker | None] = ContextVar(
    "emulpickle_key_checker", default=None
)


def current_limits() -> Limits:
    """Return the :class:`Limits` of the load in progress (defaults outside one)."""
    return _CURRENT.get()


def current_key_checker() -> HashKeyChecker | None:
    """The hash key checker of the load in progress (None outside one)."""
    return _KEYS.get()


def set_limits(limits: Limits, keys: HashKeyChecker | None = None) -> object:
    """Make ``limits`` and ``keys`` current; return a token for :func:`reset_limits`."""
    return (_CURRENT.set(limits), _KEYS.set(keys))


def reset_limits(token: object) -> None:
    """Restore the limits that were current before :func:`set_limits`."""
    limits_token, keys_token = cast(tuple[Token[Limits], Token[Any]], token)
    _KEYS.reset(keys_token)
    _CURRENT.reset(limits_token)
