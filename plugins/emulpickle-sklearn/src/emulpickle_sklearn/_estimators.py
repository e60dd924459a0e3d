"""Emulators that build real scikit-learn objects through their own
``__setstate__``, after checking every value of the state.

A pickle makes an estimator as ``copyreg.__newobj__(cls)`` (NEWOBJ) and then
gives it its ``__getstate__`` dict (BUILD). The registry answers the class's
name with a :class:`SklearnClass`, whose :meth:`~SklearnClass.py_new`
creates the real, empty instance with ``cls.__new__(cls)`` — ``cls`` being
the class this plugin found itself (:mod:`._classes`), never one the file
supplied. The BUILD goes to :class:`StateSetter`, which checks the state
(:class:`~._values.Checker`), runs the native engineer's invariants for the
class (:data:`~._native.ESTIMATOR_CHECKS`), and only then calls the
class's real ``__setstate__`` (``BaseEstimator.__setstate__`` or its
override, e.g. ``IsotonicRegression`` rebuilding its interpolator).
"""

from __future__ import annotations

from typing import Any

from emulpickle import EmulationError, bounded_repr

from ._native import ESTIMATOR_CHECKS
from ._values import Checker

__all__ = ["SklearnClass", "StateSetter", "refuse_call"]


class SklearnClass:
    """The emulator of one scikit-learn class: instances by NEWOBJ only.

    Args:
        cls: the real class (found by the plugin).
        name: its pickle name, ``module.qualname``.
    """

    __slots__ = ("cls", "name")

    def __init__(self, cls: type, name: str) -> None:
        self.cls = cls
        self.name = name

    def __repr__(self) -> str:
        return f"<emulpickle-sklearn class {self.name}>"

    def py_new(self, *args: object, **kwargs: object) -> object:
        """``cls.__new__(cls)``: an empty instance, its state set by BUILD."""
        if args or kwargs:
            raise EmulationError(
                f"{self.name} is made with no arguments, not "
                f"{bounded_repr(args)} {bounded_repr(kwargs)}"
            )
        # object.__new__ (dict.__new__ for Bunch) runs no code of the class.
        return self.cls.__new__(self.cls)  # type: ignore[call-overload]

    def py_call(self, *args: object) -> object:
        """Calling the class would run its ``__init__`` with the file's
        arguments: refused (scikit-learn's pickles never do it)."""
        raise EmulationError(
            f"the pickle calls {self.name}; scikit-learn objects are only "
            "rebuilt from their state (NEWOBJ + BUILD)"
        )


class StateSetter:
    """BUILD of one scikit-learn class's instance: checks, then the real
    ``__setstate__``.

    Args:
        cls: the real class.
        name: its pickle name (the key of ``ESTIMATOR_CHECKS``).
        checker: the value checker of the registry.
    """

    __slots__ = ("checker", "cls", "name", "short")

    def __init__(self, cls: type, name: str, checker: Checker) -> None:
        self.cls = cls
        self.name = name
        self.short = cls.__name__
        self.checker = checker

    def __call__(self, inst: Any, state: object) -> None:
        """Apply ``state`` to ``inst`` (a fresh instance of ``cls``)."""
        if type(state) is not dict:
            raise EmulationError(
                f"{self.name} state must be a dict, not {type(state).__name__}"
            )
        if inst.__dict__:
            raise EmulationError(f"a second BUILD of a {self.name}")
        for key in state:
            if type(key) is not str or (key.startswith("__") and key.endswith("__")):
                raise EmulationError(
                    f"{self.name} state key {bounded_repr(key)} is not an "
                    "attribute name"
                )
        self.checker.check_state(self.short, state)
        if isinstance(inst, dict):
            # A Bunch: its items came before the BUILD (SETITEMS).
            self.checker.check_state(self.short, inst)
        check = ESTIMATOR_CHECKS.get(self.name)
        if check is not None:
            check(state)
        setstate = getattr(self.cls, "__setstate__", None)
        if setstate is None or setstate is getattr(object, "__setstate__", None):
            inst.__dict__.update(state)
        else:
            # A copy: BaseEstimator.__setstate__ pops from what it is given.
            setstate(inst, dict(state))


def refuse_call(name: str) -> tuple[Any, Any]:
    """``(call, new)`` handlers that refuse calling ``name`` or making an
    instance of it: it is answered as a value only."""

    def refuse(*args: object, **kwargs: object) -> object:
        raise EmulationError(
            f"the pickle calls {name}, which is answered as a value only "
            "(trusted callables are never called by the load)"
        )

    return refuse, refuse
