"""The limits in force for the load running in this context.

Emulators read them through :func:`current_limits` so that a pickle cannot
make an emulator allocate more than the caller allowed. The load's hash key
checker is kept here too, so that :func:`emulpickle.check_hash_keys` counts
keys per container across the calls of one load, and so is the load's
*call policy* (the running machine), so that an emulator that calls or
instantiates something it was handed (``copyreg._reconstructor``, torch's
``_rebuild_from_type_v2``) is held to the same rules as REDUCE and NEWOBJ.
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
_POLICY: ContextVar[Any] = ContextVar("emulpickle_call_policy", default=None)


def current_limits() -> Limits:
    """Return the :class:`Limits` of the load in progress (defaults outside one)."""
    return _CURRENT.get()


def current_key_checker() -> HashKeyChecker | None:
    """The hash key checker of the load in progress (None outside one)."""
    return _KEYS.get()


def current_call_policy() -> Any:
    """The machine of the load in progress (None outside one).

    It answers ``trusts(obj)`` (may ``obj`` be called as it is?) and
    ``call_handler(obj)`` (the registry's validating stand-ins for ``obj``).
    """
    return _POLICY.get()


def set_limits(
    limits: Limits, keys: HashKeyChecker | None = None, policy: Any = None
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
