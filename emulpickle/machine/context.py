"""The limits in force for the load running in this context.

Emulators read them through :func:`current_limits` so that a pickle cannot
make an emulator allocate more than the caller allowed. The load's hash key
checker is kept here too, so that :func:`emulpickle.check_hash_keys` counts
keys per container across the calls of one load, and so is the load's
*call policy* (the running machine), so that an emulator that calls or
instantiates something it was handed (``copyreg._reconstructor``, torch's
``_rebuild_from_type_v2``) is held to the same rules as REDUCE and NEWOBJ.

The checker and the policy are typed by the Protocols below, so this module
imports neither the checker nor the machine: it sits under both (imports
``limits`` and ``host`` only).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar, Token
from typing import Any, Protocol, cast

from ..limits import DEFAULT_LIMITS, Limits
from .host import Handler

__all__ = [
    "CallPolicy",
    "KeyChecker",
    "current_call_policy",
    "current_key_checker",
    "current_limits",
    "reset_limits",
    "set_limits",
]


class KeyChecker(Protocol):
    """What the load's hash key checker answers (``hashkeys.HashKeyChecker``)."""

    def check_all(self, keys: Sequence[Any], container: object) -> None:
        """Refuse ``keys`` going into ``container`` if hashing them would stall."""

    def check_new(self, keys: Sequence[Any]) -> None:
        """The same for the keys of a new container."""


class CallPolicy(Protocol):
    """What the running machine answers to emulators that call things."""

    @property
    def wrap_errors(self) -> bool:
        """True in registry mode (no user hooks)."""

    def trusts(self, obj: object) -> bool:
        """Whether ``obj`` may be called or instantiated as it is."""

    def call_handler(self, obj: object) -> Handler | None:
        """The registry's validating stand-ins for ``obj``, if any."""


_CURRENT: ContextVar[Limits] = ContextVar("emulpickle_limits", default=DEFAULT_LIMITS)
_KEYS: ContextVar[KeyChecker | None] = ContextVar(
    "emulpickle_key_checker", default=None
)
_POLICY: ContextVar[CallPolicy | None] = ContextVar(
    "emulpickle_call_policy", default=None
)


def current_limits() -> Limits:
    """Return the :class:`Limits` of the load in progress (defaults outside one)."""
    return _CURRENT.get()


def current_key_checker() -> KeyChecker | None:
    """The hash key checker of the load in progress (None outside one)."""
    return _KEYS.get()


def current_call_policy() -> CallPolicy | None:
    """The machine of the load in progress (None outside one).

    It answers ``trusts(obj)`` (may ``obj`` be called as it is?) and
    ``call_handler(obj)`` (the registry's validating stand-ins for ``obj``).
    """
    return _POLICY.get()


def set_limits(
    limits: Limits, keys: KeyChecker | None = None, policy: CallPolicy | None = None
) -> object:
    """Make ``limits``, ``keys`` and ``policy`` current; return a reset token."""
    return (_CURRENT.set(limits), _KEYS.set(keys), _POLICY.set(policy))


def reset_limits(token: object) -> None:
    """Restore the limits that were current before :func:`set_limits`."""
    limits_token, keys_token, policy_token = cast(
        tuple[Token[Limits], Token[Any], Token[Any]], token
    )
    _POLICY.reset(policy_token)
    _KEYS.reset(keys_token)
    _CURRENT.reset(limits_token)
