"""The machine's seam: what it calls on whoever runs it.

:class:`Host` is what an :class:`~emulpickle.Unpickler` provides to the
machine: the pickle's globals, the five hooks, and the registry's call
handlers and state setters. The machine is compiled against these
Protocols, so the host can live above it (in ``emulpickle.unpickler``) and
the machine imports nothing from there. Imports only ``typing``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Handler", "Host", "Replacement", "StateSetter"]

#: ``setter(instance, state)``: applies a BUILD state to an instance. What
#: it returns is ignored, except a :class:`Replacement`.
StateSetter = Callable[[Any, Any], object]


class Replacement:
    """What a state setter returns to put ``value`` on the stack in place of
    the instance BUILD set (the memo keeps the instance).

    ``joblib.load`` does this: the BUILD of its array wrapper leaves the
    array read from the stream where the wrapper was.
    """

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


class Handler(Protocol):
    """Validating stand-ins for calling a registered real object.

    (:class:`emulpickle.registry.CallHandler` is the registry's.)
    """

    @property
    def call(self) -> Callable[..., object] | None:
        """Used for REDUCE, INST and OBJ; None refuses those."""

    @property
    def new(self) -> Callable[..., object] | None:
        """Used for NEWOBJ and NEWOBJ_EX; None refuses those."""


class Host(Protocol):
    """What the machine asks of whoever runs it (an ``Unpickler``).

    Each method is called at most once per object or class and load: the
    machine keeps what they answer.
    """

    def resolve_global(self, module: str, name: str) -> object:
        """The object for global ``module.name`` (Python 2 names mapped)."""

    def persistent_load(self, pid: Any) -> object:
        """The object for persistent id ``pid`` (PERSID / BINPERSID)."""

    def get_extension(self, code: int) -> object:
        """The object for extension ``code`` (EXT1 / EXT2 / EXT4)."""

    def next_buffer(self) -> object:
        """The next out-of-band buffer (NEXT_BUFFER)."""

    def make_readonly(self, obj: Any) -> object:
        """A read-only view of buffer ``obj`` (READONLY_BUFFER)."""

    def call_handler(self, obj: object) -> Handler | None:
        """How calls on ``obj`` are handled, if it was registered with handlers."""

    def state_setter(self, cls: type) -> StateSetter | None:
        """The BUILD state setter for instances of exactly ``cls``, if any."""
