"""What every standard-library emulator is made of.

:class:`StdlibEmulator` stands in for a standard-library class named by a
pickle (calling it validates the arguments and builds the real value);
:class:`NewableStdlibEmulator` may also be instantiated by NEWOBJ. The
helpers below are the argument checks the emulator families share: each
failure is an :class:`~emulpickle.EmulationError` naming the global.

Imports only the bottom layer (``errors``); the family modules beside it
import this one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..errors import EmulationError

__all__ = [
    "Entry",
    "NewableStdlibEmulator",
    "StdlibEmulator",
    "arity",
    "entries_of",
    "exact_int",
    "exact_ints",
    "exact_str",
    "fail",
    "guard",
]


class StdlibEmulator:
    """Stands in for a standard-library class named by a pickle.

    Calling it (REDUCE) validates the arguments and returns the real value;
    nothing named by the pickle is imported or run.

    Attributes:
        module: the module the pickle names.
        name: the class name the pickle names.
    """

    __slots__ = ("_call", "module", "name")

    def __init__(self, module: str, name: str, call: Callable[..., object]) -> None:
        self.module = module
        self.name = name
        self._call = call

    def py_call(self, *args: object) -> object:
        """Build the value as ``module.name(*args)`` would, after validation."""
        return self._call(*args)

    def __repr__(self) -> str:
        return f"<emulator for {self.module}.{self.name}>"


class NewableStdlibEmulator(StdlibEmulator):
    """A :class:`StdlibEmulator` that NEWOBJ may also instantiate."""

    __slots__ = ("_new",)

    def __init__(
        self,
        module: str,
        name: str,
        call: Callable[..., object],
        new: Callable[..., object],
    ) -> None:
        super().__init__(module, name, call)
        self._new = new

    def py_new(self, *args: object, **kwargs: object) -> object:
        """``cls.__new__(cls, *args, **kwargs)``: an empty instance."""
        return self._new(*args, **kwargs)


#: ``(module, name, emulator)``: one global and what answers it.
Entry = tuple[str, str, object]


def entries_of(emulators: Iterable[StdlibEmulator]) -> list[Entry]:
    """The :data:`Entry` of each emulator (it knows the global it stands for)."""
    return [(emulator.module, emulator.name, emulator) for emulator in emulators]


def fail(what: str, message: str) -> EmulationError:
    """The error an emulator of ``what`` raises for invalid arguments."""
    return EmulationError(f"{what}: {message}")


def arity(what: str, args: tuple[object, ...], low: int, high: int) -> None:
    """Refuse calls of ``what`` without ``low`` to ``high`` arguments."""
    if not low <= len(args) <= high:
        raise fail(what, f"takes {low} to {high} arguments ({len(args)} given)")


def exact_int(what: str, value: object) -> int:
    """``value`` if it is exactly an ``int`` (no bool, no subclass)."""
    if type(value) is not int:
        raise fail(what, f"expected an int, got {type(value).__name__}")
    return value


def exact_ints(what: str, args: tuple[object, ...]) -> list[Any]:
    """Each of ``args``, checked with :func:`exact_int`."""
    return [exact_int(what, arg) for arg in args]


def exact_str(what: str, value: object) -> str:
    """``value`` if it is exactly a ``str``."""
    if type(value) is not str:
        raise fail(what, f"expected a str, got {type(value).__name__}")
    return value


def guard(what: str, build: Callable[[], Any]) -> Any:
    """Run a real constructor on validated data; turn its errors into ours."""
    try:
        return build()
    except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:
        # The real message may quote the whole argument (Fraction does).
        raise fail(what, f"{type(exc).__name__}: {str(exc)[:200]}") from exc
