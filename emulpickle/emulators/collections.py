"""Emulators for ``collections``: OrderedDict, Counter, deque, defaultdict.

Imports the machine's hash key check, the shared helpers of ``base`` and the
bottom layer.
"""

from __future__ import annotations

import collections
import types
from typing import Any

from .._render import bounded_repr
from ..machine.hashkeys import check_hash_keys
from .base import Entry, StdlibEmulator, arity, entries_of, exact_int, fail

__all__ = ["entries"]


def _pairs(what: str, arg: object) -> list[tuple[object, object]]:
    """The (key, value) pairs of a new mapping; keys are checked for hashing."""
    if type(arg) is dict:
        return list(arg.items())  # keys checked when the pickle built it
    if type(arg) not in (list, tuple):
        raise fail(
            what, f"expected a dict or a list of pairs, not {type(arg).__name__}"
        )
    pairs: list[tuple[object, object]] = []
    for item in arg:  # type: ignore[attr-defined]
        if type(item) not in (list, tuple) or len(item) != 2:
            raise fail(what, "each item must be a (key, value) pair")
        pairs.append((item[0], item[1]))
    check_hash_keys([key for key, _ in pairs])
    return pairs


def _ordered_dict(*args: object) -> object:
    what = "collections.OrderedDict"
    arity(what, args, 0, 1)
    return collections.OrderedDict(_pairs(what, args[0]) if args else ())


def _counter(*args: object) -> object:
    what = "collections.Counter"
    arity(what, args, 0, 1)
    counter: collections.Counter[Any] = collections.Counter()
    if args:
        if type(args[0]) is not dict:
            raise fail(what, "expected a dict of counts")
        plain_update: Any = dict.update  # not Counter.update, which adds counts
        plain_update(counter, _pairs(what, args[0]))
    return counter


def _deque(*args: object) -> object:
    what = "collections.deque"
    arity(what, args, 0, 2)
    items = args[0] if args else ()
    if type(items) not in (list, tuple):
        raise fail(what, f"items must be a list or tuple, not {type(items).__name__}")
    maxlen = args[1] if len(args) > 1 else None
    if maxlen is not None and exact_int(what, maxlen) < 0:
        raise fail(what, "maxlen must be non-negative")
    return collections.deque(items, maxlen)  # type: ignore[call-overload]


_SAFE_FACTORIES: tuple[object, ...] = (
    bool, bytearray, bytes, complex, dict, float, frozenset, int, list, object,
    set, str, tuple, collections.OrderedDict, collections.Counter,
    collections.deque, collections.defaultdict, types.SimpleNamespace,
)  # fmt: skip

#: Emulators that may serve as a defaultdict factory, mapped to the real type.
_FACTORY_EMULATORS: dict[str, type] = {
    "collections.OrderedDict": collections.OrderedDict,
    "collections.Counter": collections.Counter,
    "collections.deque": collections.deque,
    "collections.defaultdict": collections.defaultdict,
    "types.SimpleNamespace": types.SimpleNamespace,
}


def _factory(factory: object) -> Any:
    if factory is None or any(factory is safe for safe in _SAFE_FACTORIES):
        return factory
    if isinstance(factory, StdlibEmulator):
        real = _FACTORY_EMULATORS.get(f"{factory.module}.{factory.name}")
        if real is not None:
            return real
    raise fail(
        "collections.defaultdict",
        f"default_factory {bounded_repr(factory)} is not an allowed builtin type",
    )


def _defaultdict(*args: object) -> object:
    what = "collections.defaultdict"
    arity(what, args, 0, 2)
    result: collections.defaultdict[Any, Any] = collections.defaultdict(
        _factory(args[0]) if args else None
    )
    if len(args) > 1:
        result.update(_pairs(what, args[1]))
    return result


def entries() -> list[Entry]:
    """The emulators of this family."""
    return entries_of(
        [
            StdlibEmulator("collections", "OrderedDict", _ordered_dict),
            StdlibEmulator("collections", "Counter", _counter),
            StdlibEmulator("collections", "deque", _deque),
            StdlibEmulator("collections", "defaultdict", _defaultdict),
        ]
    )
