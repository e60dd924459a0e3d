"""What a real estimator's state may hold, checked before the estimator
gets it (and once more over the whole loaded object).

Allowed: numbers, strings, bytes, None; numpy arrays (object arrays only
when every element is allowed), scalars and dtypes; the builtin and numpy
scalar *types* of a fixed list (``dtype=np.float64``); lists, tuples,
dicts, sets and the ``collections`` containers emulpickle's default
registry builds, of allowed values; scikit-learn objects this plugin built;
native objects (:mod:`emulpickle_sklearn._native`: scikit-learn's Cython
types, ``numpy.random`` states, ``scipy.sparse``) and pandas objects, which
their own emulators validated; and callables the application trusted by
name. Anything else — a ``GenericObject`` stand-in, an emulator, an
unknown class — is refused with the path of the attribute that holds it.

The walk is iterative (no recursion limit to hit on a deep structure) and
visits each object once (shared or cyclic structures are fine).
"""

from __future__ import annotations

import builtins
import collections
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from emulpickle import EmulationError, GenericClass, GenericObject, bounded_repr

from ._classes import NUMPY_TYPES, qualified

__all__ = ["Checker"]

_ATOMS: frozenset[type] = frozenset(
    {type(None), bool, int, float, complex, str, bytes, range, slice}
)
_SEQUENCES: frozenset[type] = frozenset(
    {list, tuple, set, frozenset, collections.deque}
)
_MAPPINGS: frozenset[type] = frozenset(
    {dict, collections.OrderedDict, collections.Counter, collections.defaultdict}
)
#: Types that may be held as values (``dtype=float``, ``dtype=np.float64``).
_TYPE_VALUES: frozenset[type] = frozenset(
    {builtins.bool, int, float, complex, str, bytes, object, *NUMPY_TYPES}
)
#: Where the native and pandas emulators' real objects come from: a value of
#: such a type was built by one of them (nothing else makes one).
_VALIDATED_ELSEWHERE = ("sklearn.", "scipy.sparse", "numpy.random", "pandas")


def _derived_types() -> tuple[type, ...]:
    """Types a class's own ``__setstate__`` makes (never a pickle: no
    emulator builds one): ``IsotonicRegression`` rebuilds its ``f_``."""
    from scipy.interpolate import interp1d  # type: ignore[import-untyped]

    return (interp1d,)


class Checker:
    """Checks values against what estimators may hold.

    Args:
        classes: the scikit-learn classes the plugin builds (instances of
            these are allowed; :meth:`check_tree` also walks their state).
        trusted: the callables the application trusted, by identity.
    """

    def __init__(self, classes: frozenset[type], trusted: Iterable[object]) -> None:
        self.classes = classes
        self.trusted = {id(value): value for value in trusted}
        self.derived = _derived_types()

    def check_state(self, owner: str, state: dict[str, Any]) -> None:
        """Refuse a state (``owner``'s BUILD) holding a value not allowed;
        objects it holds are not entered (their own BUILD checks them)."""
        for key, value in state.items():
            self._walk(value, f"{owner}.{key}", enter=False)

    def check_tree(self, value: object, root: str) -> None:
        """Refuse ``value`` if anything reachable from it is not allowed,
        entering the state of every scikit-learn object."""
        self._walk(value, root, enter=True)

    def _walk(self, value: object, path: str, enter: bool) -> None:
        seen: set[int] = set()
        stack: list[tuple[object, str]] = [(value, path)]
        while stack:
            item, where = stack.pop()
            cls = type(item)
            if cls in _ATOMS:
                continue
            if id(item) in seen:
                continue
            seen.add(id(item))
            stack.extend(self._children(item, cls, where, enter))

    def _children(
        self, item: Any, cls: type, where: str, enter: bool
    ) -> Iterator[tuple[object, str]]:
        if cls in _SEQUENCES:
            for index, child in enumerate(item):
                yield child, f"{where}[{index}]"
            return
        if cls in _MAPPINGS:
            if cls is collections.defaultdict:
                factory = item.default_factory
                if factory is not None and factory not in _TYPE_VALUES | {
                    list,
                    dict,
                    set,
                    tuple,
                }:
                    raise self._refusal(factory, f"{where}.default_factory")
            for key, child in item.items():
                yield key, f"{where}<key>"
                yield child, f"{where}[{bounded_repr(key, max_chars=40)}]"
            return
        if isinstance(item, np.ndarray):
            if cls is not np.ndarray and cls is not np.ma.MaskedArray:
                raise self._refusal(item, where)
            if item.dtype.hasobject:
                if item.dtype.fields is not None:
                    raise self._refusal(item, where)
                for index, child in enumerate(item.flat):
                    yield child, f"{where}.flat[{index}]"
            return
        if isinstance(item, (np.generic, np.dtype)):
            if isinstance(item, np.generic) and item.dtype.hasobject:
                yield item.item(), where
            return
        if isinstance(item, type) and item in _TYPE_VALUES:
            return
        if id(item) in self.trusted:
            return
        if enter and cls in self.derived:
            return
        if cls in self.classes:
            if enter:
                if isinstance(item, dict):
                    for key, child in item.items():
                        yield child, f"{where}[{bounded_repr(key, max_chars=40)}]"
                for key, child in vars(item).items():
                    yield child, f"{where}.{key}"
            return
        if not isinstance(item, type) and cls.__module__.startswith(
            _VALIDATED_ELSEWHERE
        ):
            return
        raise self._refusal(item, where)

    @staticmethod
    def _refusal(item: object, where: str) -> EmulationError:
        name = _global_name(item)
        if name is not None:
            return EmulationError(
                f"{where} holds {bounded_repr(name)}, a function or class that "
                "is not trusted: callables a model holds are refused unless "
                f"the application names them, e.g. trusted=[{bounded_repr(name)}]"
            )
        return EmulationError(
            f"{where} holds {bounded_repr(item)}, which a scikit-learn estimator "
            "built by emulpickle-sklearn may not hold (only numbers, strings, "
            "arrays, containers, scikit-learn objects and trusted callables)"
        )


def _global_name(item: object) -> str | None:
    """The global a refused value stands for, when it stands for one."""
    if isinstance(item, GenericClass):
        return item.qualname
    if isinstance(item, GenericObject):
        return None
    if isinstance(item, type) or (callable(item) and hasattr(item, "__qualname__")):
        try:
            return qualified(item)
        except AttributeError:
            return None
    return None
