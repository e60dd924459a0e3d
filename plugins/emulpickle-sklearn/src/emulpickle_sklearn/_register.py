"""Registering scikit-learn's names: classes, value-only globals, numpy.ma."""

from __future__ import annotations

from collections.abc import Mapping

from emulpickle import Registry

from ._classes import NUMPY_TYPES, qualified, score_functions, sklearn_classes
from ._estimators import SklearnClass, StateSetter, refuse_call
from ._masked import register_masked
from ._values import Checker

__all__ = ["register_estimators", "register_values"]


def register_values(registry: Registry, values: Mapping[str, object]) -> None:
    """Answer each ``module.name`` with its real object, as a value only
    (calling it or making an instance of it is refused)."""
    for name, value in values.items():
        module, _, attr = name.rpartition(".")
        call, new = refuse_call(name)
        registry.register(module, attr, value, call=call, new=new)


def register_estimators(
    registry: Registry, trusted: Mapping[str, object] | None = None
) -> Checker:
    """Register every scikit-learn class the plugin builds, numpy's scalar
    types and scikit-learn's own score functions (values), numpy.ma; and
    ``trusted`` (name -> the object the application resolved).

    Returns:
        The value checker the state setters use.
    """
    classes = sklearn_classes()
    values: dict[str, object] = {qualified(t): t for t in NUMPY_TYPES}
    values.update(score_functions())
    values.update(trusted or {})
    checker = Checker(frozenset(classes.values()), values.values())
    # What register_native answered in this registry is native's to build.
    native = set(registry.own_entries())
    for name, cls in classes.items():
        module, attr = cls.__module__, cls.__qualname__
        if (module, attr) in native:
            continue
        registry.register(module, attr, SklearnClass(cls, name))
        registry.register_state_setter(cls, StateSetter(cls, name, checker))
    register_values(registry, values)
    register_masked(registry)
    return checker
