"""``sklearn._loss``: the Cython losses, the Python loss classes, links and intervals.

Also the SGD estimators' own Cython losses (``sklearn.linear_model._sgd_fast``:
Hinge, SquaredHinge, ModifiedHuber, EpsilonInsensitive,
SquaredEpsilonInsensitive), which pickle the same way.

The Cython losses (``_loss.Cy*``) pickle as ``cls()`` or ``cls(param)``
(``CyHalfMultinomialLoss`` through Cython's ``__pyx_unpickle_*`` with an
empty state): they hold one double at most, so the checks are the class
(one of the named ones), the argument count and a finite number in the
parameter's range. The Python loss classes (``loss.HalfSquaredError`` ...)
pickle as NEWOBJ + BUILD of their ``__dict__``; the state may only hold
the attributes sklearn sets, each of the expected type (``closs`` the
matching real Cython loss made here, ``link`` a real link, the intervals
real ``Interval``s, flags booleans, ``xp``/``device`` None: a module or
device object is refused). Links have no state; ``Interval`` is rebuilt
with its constructor from four checked values.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sklearn._loss._loss as cy_losses  # type: ignore[import-untyped]
import sklearn._loss.link as links  # type: ignore[import-untyped]
import sklearn._loss.loss as losses  # type: ignore[import-untyped]
import sklearn.linear_model._sgd_fast as sgd_losses  # type: ignore[import-untyped]

from emulpickle import Registry
from emulpickle.machine.host import Replacement

from ._common import (
    NativeClass,
    Pending,
    check_int,
    fail,
    refuse_later_builds,
    shown,
)

__all__ = ["register_losses"]

_CY = "sklearn._loss._loss"
_SGD = "sklearn.linear_model._sgd_fast"
#: SGDClassifier/SGDRegressor/Perceptron's own Cython losses (``loss_function_``):
#: ``cls()`` or ``cls(threshold_or_epsilon)``, one double at most.
_SGD_LOSSES: dict[str, tuple[float, float] | None] = {
    "Hinge": (-math.inf, math.inf),
    "SquaredHinge": (-math.inf, math.inf),
    "ModifiedHuber": None,
    "EpsilonInsensitive": (0.0, math.inf),
    "SquaredEpsilonInsensitive": (0.0, math.inf),
}
#: Python loss class -> (Cython loss class name, its parameter's valid range).
_LOSSES = {
    "HalfSquaredError": None,
    "AbsoluteError": None,
    "PinballLoss": (0.0, 1.0),
    "HuberLoss": (0.0, math.inf),
    "HalfPoissonLoss": None,
    "HalfGammaLoss": None,
    "HalfTweedieLoss": (-math.inf, math.inf),
    "HalfTweedieLossIdentity": (-math.inf, math.inf),
    "HalfBinomialLoss": None,
    "HalfMultinomialLoss": None,
    "ExponentialLoss": None,
}
_LINKS = ("IdentityLink", "LogLink", "LogitLink", "HalfLogitLink", "MultinomialLogit")
_LINK_TYPES = tuple(getattr(links, name) for name in _LINKS)
_BOOL_KEYS = ("approx_hessian", "constant_hessian")
_NONE_KEYS = ("xp", "device", "class_indexing_offsets", "y_true_int", "y_true_one_hot")
_INTERVAL_KEYS = ("interval_y_true", "interval_y_pred")


class CyLossClass:
    """Answers ``sklearn._loss._loss.Cy<name>`` (and the SGD losses of
    ``sklearn.linear_model._sgd_fast``): ``cls()`` / ``cls(param)``."""

    def __init__(
        self, name: str, param: tuple[float, float] | None, module: Any = cy_losses
    ) -> None:
        self.name = name
        self.param = param
        self.module = module.__name__
        self.cls = getattr(module, name)

    def __repr__(self) -> str:
        return f"<emulated {self.module}.{self.name}>"

    def py_call(self, *args: object) -> object:
        """The real loss, its one parameter (if any) a checked finite float."""
        if self.param is None:
            if args:
                raise fail(f"{self.name}() takes no arguments")
            return self.cls()
        if len(args) != 1:
            raise fail(f"{self.name}() takes one argument")
        value = args[0]
        if isinstance(value, bool) or not isinstance(
            value, (int, float, np.integer, np.floating)
        ):
            raise fail(f"{self.name}: parameter is a {type(value).__name__}")
        number = float(value)
        low, high = self.param
        if not (math.isfinite(number) and low <= number <= high):
            raise fail(
                f"{self.name}: parameter {shown(number)} outside [{low}, {high}]"
            )
        return self.cls(number)


class PyxUnpickleMultinomial:
    """Answers ``__pyx_unpickle_CyHalfMultinomialLoss(cls, checksum, state)``."""

    def __repr__(self) -> str:
        return f"<emulated {_CY}.__pyx_unpickle_CyHalfMultinomialLoss>"

    def py_call(self, *args: object) -> object:
        """A fresh ``CyHalfMultinomialLoss`` (it has no state)."""
        if (
            len(args) != 3
            or args[0] is not _CY_MARKERS["CyHalfMultinomialLoss"]
            or not (args[2] is None or (type(args[2]) is tuple and not args[2]))
        ):
            raise fail("__pyx_unpickle_CyHalfMultinomialLoss: unexpected arguments")
        return cy_losses.CyHalfMultinomialLoss()


_CY_MARKERS: dict[str, Any] = {
    f"Cy{name}": CyLossClass(f"Cy{name}", param) for name, param in _LOSSES.items()
}


_SGD_MARKERS: dict[str, CyLossClass] = {
    name: CyLossClass(name, param, sgd_losses) for name, param in _SGD_LOSSES.items()
}


class PendingLoss(Pending):
    """A Python loss object or Interval waiting for its BUILD."""

    __slots__ = ()


class LinkClass:
    """Answers a link class: NEWOBJ makes the real (stateless) link."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cls = getattr(links, name)

    def __repr__(self) -> str:
        return f"<emulated sklearn._loss.link.{self.name}>"

    def py_new(self, *args: object, **kwargs: object) -> object:
        """``cls.__new__(cls)``: links keep nothing per instance."""
        if args or kwargs:
            raise fail(f"{self.name}.__new__ takes no arguments here")
        return self.cls.__new__(self.cls)


def _set_link_state(link: Any, state: Any) -> None:
    if not (state is None or (type(state) is dict and not state)):
        raise fail(f"{type(link).__name__} state must be empty, not {shown(state)}")


def _interval(state: Any) -> Any:
    keys = ("low", "high", "low_inclusive", "high_inclusive")
    if type(state) is not dict or set(state) != set(keys):
        raise fail(f"Interval state has keys {shown(state)}")
    low, high, low_inc, high_inc = (state[k] for k in keys)
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(
            bound, (int, float, np.integer, np.floating)
        ):
            raise fail("Interval bounds must be numbers")
    for flag in (low_inc, high_inc):
        if type(flag) is not bool:
            raise fail("Interval flags must be booleans")
    return links.Interval(float(low), float(high), low_inc, high_inc)


def _loss_state(name: str, state: Any) -> dict[str, Any]:
    what = name
    if type(state) is not dict or not all(type(k) is str for k in state):
        raise fail(f"{what} state must be a dict of str keys")
    allowed = {
        "closs",
        "link",
        "n_classes",
        "quantile",
        *_BOOL_KEYS,
        *_NONE_KEYS,
        *_INTERVAL_KEYS,
    }
    extra = set(state) - allowed
    if extra or "closs" not in state or "link" not in state:
        raise fail(f"{what} state has keys {shown(sorted(state))}")
    closs = state["closs"]
    if type(closs) is not _CY_MARKERS[f"Cy{name}"].cls:
        raise fail(f"{what}.closs is a {type(closs).__name__}, not Cy{name}")
    if type(state["link"]) not in _LINK_TYPES:
        raise fail(f"{what}.link is a {type(state['link']).__name__}")
    if state.get("n_classes") is not None:
        check_int(state["n_classes"], f"{what}.n_classes", 1)
    if "quantile" in state:
        quantile = state["quantile"]
        if type(quantile) is not float or not 0.0 <= quantile <= 1.0:
            raise fail(f"{what}.quantile must be a float in [0, 1]")
    for key in _BOOL_KEYS:
        if key in state and type(state[key]) is not bool:
            raise fail(f"{what}.{key} must be a bool")
    for key in _NONE_KEYS:
        if state.get(key) is not None:
            raise fail(f"{what}.{key} must be None, not a {type(state[key]).__name__}")
    for key in _INTERVAL_KEYS:
        if key in state and type(state[key]) is not links.Interval:
            raise fail(f"{what}.{key} is a {type(state[key]).__name__}")
    return dict(state)


def _setter(pending: Any, state: Any) -> object:
    if type(pending) is not PendingLoss:
        raise fail(f"loss state applied to a {type(pending).__name__}")
    if pending.kind == "Interval":
        return Replacement(_interval(state))
    checked = _loss_state(pending.kind, state)
    cls = getattr(losses, pending.kind)
    loss = cls.__new__(cls)
    loss.__dict__.update(checked)
    return Replacement(loss)


def register_losses(registry: Registry) -> None:
    """Answer the Cython and Python losses, the links and ``Interval``."""
    for name, marker in _CY_MARKERS.items():
        registry.register(_CY, name, marker)
    for name, marker in _SGD_MARKERS.items():
        registry.register(_SGD, name, marker)
    registry.register(
        _CY, "__pyx_unpickle_CyHalfMultinomialLoss", PyxUnpickleMultinomial()
    )
    for name in _LOSSES:
        registry.register("sklearn._loss.loss", name, NativeClass(name, PendingLoss))
    for name in _LINKS:
        registry.register("sklearn._loss.link", name, LinkClass(name))
    for cls in _LINK_TYPES:
        registry.register_state_setter(cls, _set_link_state)
    registry.register(
        "sklearn._loss.link", "Interval", NativeClass("Interval", PendingLoss)
    )
    registry.register_state_setter(PendingLoss, _setter)
    refuse_later_builds(
        registry,
        links.Interval,
        *(getattr(losses, name) for name in _LOSSES),
        *(marker.cls for marker in _CY_MARKERS.values()),
        *(marker.cls for marker in _SGD_MARKERS.values()),
    )
