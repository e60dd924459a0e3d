"""Validated stand-ins used when a pickle calls a builtin type.

The default registry answers builtin type names with the real type objects,
so ``loads(dumps(int)) is int``. Calling one of them from a pickle, though,
goes through these functions: they do what the real call does but refuse
arguments that would allocate memory not backed by the input
(``bytearray(10**12)``, ``list(range(10**12))``) or that create code
(``type(name, bases, dict)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sized
from typing import cast

from ._hashkeys import check_hash_keys
from ._limits_context import current_limits
from .errors import EmulationError, LimitExceededError

__all__ = ["BUILTIN_CALLS", "BUILTIN_NEWS"]

_SINGLETON_TYPES: dict[type, object] = {
    type(None): None,
    type(NotImplemented): NotImplemented,
    type(Ellipsis): Ellipsis,
}


def _check_size(n: int, what: str) -> None:
    limit = current_limits().max_emulator_alloc
    if n > limit:
        raise LimitExceededError(
            f"{what} would allocate {n} items/bytes not present in the input "
            f"(limit {limit})",
            limit="max_emulator_alloc",
        )


# Containers whose size is bounded by the bytes of the pickle that built them.
_INPUT_BACKED = (str, bytes, bytearray, memoryview, list, tuple, dict, set, frozenset)


def _check_iterable(arg: object, what: str) -> None:
    """Refuse lazy iterables whose expansion is not bounded by the input."""
    if isinstance(arg, range):
        _check_size(len(arg), what)
    elif isinstance(arg, _INPUT_BACKED):
        return
    else:
        try:
            n = len(arg)  # type: ignore[arg-type]
        except TypeError:
            raise EmulationError(
                f"{what} got an argument of type {type(arg).__name__!r}, "
                "which is not a sized container"
            ) from None
        _check_size(n, what)


def _bytes_like(cls: type, args: tuple[object, ...]) -> object:
    name = cls.__name__
    if len(args) == 1:
        arg = args[0]
        if isinstance(arg, int):
            if arg < 0:
                raise EmulationError(f"{name}() got a negative count")
            _check_size(arg, f"{name}({arg})")
        elif not isinstance(arg, (bytes, bytearray, memoryview, str)):
            _check_iterable(arg, f"{name}()")
    elif len(args) > 3:
        raise EmulationError(f"{name}() takes at most 3 arguments ({len(args)} given)")
    return cls(*args)


def _bytes_call(*args: object) -> object:
    return _bytes_like(bytes, args)


def _bytearray_call(*args: object) -> object:
    return _bytes_like(bytearray, args)


# Iterables whose items are safe to hash as they are: characters, byte values,
# and the keys of containers that were checked when the pickle built them.
_HASH_CHECKED = (str, bytes, bytearray, memoryview, dict, set, frozenset)


def _hashable_items(arg: object) -> object:
    """The items of a set()/frozenset() argument, checked as hash keys.

    Anything else iterable (a list, a deque, a range, an array) is read into a
    list first, so the items checked are the items hashed.
    """
    if isinstance(arg, _HASH_CHECKED):
        return arg
    items = arg if isinstance(arg, (list, tuple)) else list(cast(Iterable[object], arg))
    check_hash_keys(items)
    return items


def _container(cls: type) -> Callable[..., object]:
    hashes = cls in (set, frozenset)

    def make(*args: object) -> object:
        if len(args) > 1:
            raise EmulationError(
                f"{cls.__name__}() takes at most 1 argument ({len(args)} given)"
            )
        if not args:
            return cls()
        _check_iterable(args[0], f"{cls.__name__}()")
        return cls(_hashable_items(args[0]) if hashes else args[0])

    return make


def _pair(item: object) -> tuple[object, object]:
    """One element of a dict() argument: a (key, value) pair."""
    if type(item) is not tuple and type(item) is not list:
        _check_iterable(item, "dict()")
    if len(cast(Sized, item)) != 2:
        raise EmulationError("dict() needs (key, value) pairs")
    first, second = cast(Iterable[object], item)
    return first, second


def _dict_call(*args: object, **kwargs: object) -> object:
    if len(args) > 1:
        raise EmulationError(f"dict() takes at most 1 argument ({len(args)} given)")
    if not args:
        return dict(**kwargs)
    arg = args[0]
    _check_iterable(arg, "dict()")
    if isinstance(arg, dict):
        return dict(arg, **kwargs)  # keys checked when the pickle built it
    pairs = [_pair(item) for item in arg]  # type: ignore[attr-defined]
    check_hash_keys([pair[0] for pair in pairs])
    return dict(pairs, **kwargs)


def _type_call(*args: object) -> object:
    if len(args) != 1:
        raise EmulationError("type() may only be called with one argument here")
    arg = args[0]
    if arg is None or arg is NotImplemented or arg is Ellipsis:
        return type(arg)
    raise EmulationError(
        "type(x) is only emulated for None, NotImplemented and Ellipsis"
    )


def _plain(cls: type) -> Callable[..., object]:
    def make(*args: object, **kwargs: object) -> object:
        return cls(*args, **kwargs)

    return make


def _object_call(*args: object) -> object:
    if args:
        raise EmulationError("object() takes no arguments")
    return object()


def _singleton_call(cls: type) -> Callable[..., object]:
    def make(*args: object) -> object:
        if args:
            raise EmulationError(f"{cls.__name__}() takes no arguments")
        return _SINGLETON_TYPES[cls]

    return make


BUILTIN_CALLS: dict[type, Callable[..., object]] = {
    bytes: _bytes_call,
    bytearray: _bytearray_call,
    list: _container(list),
    tuple: _container(tuple),
    set: _container(set),
    frozenset: _container(frozenset),
    dict: _dict_call,
    type: _type_call,
    object: _object_call,
    int: _plain(int),
    float: _plain(float),
    complex: _plain(complex),
    bool: _plain(bool),
    str: _plain(str),
    slice: _plain(slice),
    range: _plain(range),
}
for _t in _SINGLETON_TYPES:
    BUILTIN_CALLS[_t] = _singleton_call(_t)


def _new_via_call(cls: type) -> Callable[..., object]:
    call = BUILTIN_CALLS[cls]

    def new(*args: object, **kwargs: object) -> object:
        # For immutable builtins, __new__ does the work; for mutable ones
        # (list, dict, set, bytearray) __new__ ignores its arguments.
        if cls in (list, dict, set, bytearray):
            return cls.__new__(cls)  # type: ignore[type-var]
        return call(*args, **kwargs)

    return new


BUILTIN_NEWS: dict[type, Callable[..., object]] = {
    cls: _new_via_call(cls) for cls in BUILTIN_CALLS
}
