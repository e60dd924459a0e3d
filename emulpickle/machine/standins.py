"""Validated stand-ins used when a pickle calls a builtin type.

The default registry answers builtin type names with the real type objects,
so ``loads(dumps(int)) is int``. Calling one of them from a pickle, though,
goes through these functions: they do what the real call does but refuse
arguments that would allocate memory not backed by the input
(``bytearray(10**12)``, ``list(range(10**12))``), that create code
(``type(name, bases, dict)``), or whose cost grows faster than the input:
numbers too long to convert between bases (``Limits.max_number_digits``),
codecs other than the linear text codecs (:mod:`emulpickle.machine.textcodecs`),
and ``str()`` of containers or objects (CPython's pickles only ever call
``str`` on text or on bytes with an encoding; rendering a tuple shared
2**40 times would never end).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sized
from typing import Any, cast

from .._render import bounded_repr
from ..errors import EmulationError, LimitExceededError
from .context import current_limits
from .hashkeys import check_hash_keys
from .numbounds import check_number, check_text, is_exact_number
from .textcodecs import error_handler, text_codec

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
            f"{what} would allocate {bounded_repr(n)} items/bytes not present in "
            f"the input (limit {limit})",
            limit="max_emulator_alloc",
        )


# Containers whose size is bounded by the bytes of the pickle that built them.
_INPUT_BACKED = (str, bytes, bytearray, memoryview, list, tuple, dict, set, frozenset)


def _check_iterable(arg: object, what: str) -> None:
    """Refuse lazy iterables whose expansion is not bounded by the input."""
    if isinstance(arg, range):
        try:
            size = len(arg)
        except OverflowError:  # more items than a machine int can count
            size = sys.maxsize
        _check_size(size, what)
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
            _check_size(arg, f"{name}({bounded_repr(arg, max_chars=40)})")
        elif not isinstance(arg, (bytes, bytearray, memoryview, str)):
            _check_iterable(arg, f"{name}()")
    elif len(args) > 3:
        raise EmulationError(f"{name}() takes at most 3 arguments ({len(args)} given)")
    elif args:
        if not isinstance(args[0], str):
            raise EmulationError(f"{name}(x, encoding) needs a str")
        return cls(args[0], *_codec_args(f"{name}()", args[1:]))
    return cls(*args)


def _codec_args(what: str, args: tuple[object, ...]) -> tuple[str, str]:
    """``(encoding[, errors])`` checked against the allowlists, canonical names."""
    errors = error_handler(what, args[1]) if len(args) > 1 else "strict"
    return text_codec(what, args[0]), errors


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


def _int_call(*args: object, **kwargs: object) -> object:
    """``int(x[, base])``: literals and Decimals/Fractions are size-checked first.

    Converting text in a base that is not a power of two, or a Decimal with
    a large exponent, is super-linear; CPython's own cap
    (``sys.set_int_max_str_digits``) covers only text and an application may
    lift it. An int argument is returned as it is, whatever its size.
    """
    if len(args) > 2 or set(kwargs) - {"base"} or (kwargs and len(args) != 1):
        raise EmulationError("int() takes a value and an optional base")
    if args and not isinstance(args[0], int):
        base = args[1] if len(args) == 2 else kwargs.get("base", 10)
        if isinstance(args[0], (str, bytes, bytearray)) and isinstance(base, int):
            check_text("int()", args[0], base)
        else:
            check_number("int()", args[0])
    make: Any = int
    return make(*args, **kwargs)


_STR_PARAMS = ("object", "encoding", "errors")
# Values whose str() is linear in their size and never recurses.
_STR_LEAVES = (float, complex, bool, type(None))


def _str_call(*args: object, **kwargs: object) -> object:
    """``str(x)`` of text or a number, or ``str(data, encoding[, errors])``.

    Anything else is refused: CPython's pickles call ``str`` only on text
    (``copyreg._reconstructor`` of a str subclass, NEWOBJ of one), and the
    ``str`` of a container is its repr, which takes exponential time on a
    tuple shared 2**40 times.
    """
    bound = dict(zip(_STR_PARAMS, args, strict=False))
    if len(args) > 3 or set(kwargs) - set(_STR_PARAMS) or set(kwargs) & set(bound):
        raise EmulationError("str() takes object, encoding and errors")
    bound.update(kwargs)
    if "encoding" in bound or "errors" in bound:
        data = bound.get("object", b"")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise EmulationError("str(x, encoding) needs bytes")
        encoding, errors = _codec_args(
            "str()", (bound.get("encoding", "utf-8"), bound.get("errors", "strict"))
        )
        return str(data, encoding, errors)
    if "object" not in bound:
        return ""
    value = bound["object"]
    if isinstance(value, str) or type(value) in _STR_LEAVES:
        return str(value)
    if is_exact_number(value):
        check_number("str()", value)
        return str(value)
    raise EmulationError(
        f"str() of a {type(value).__name__} is not emulated (only of text, "
        "numbers, or bytes with an encoding)"
    )


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
    int: _int_call,
    # float() and complex() parse text in linear time (10 MB of digits: 25
    # ms) and refuse huge ints and Decimals/Fractions cheaply (OverflowError).
    float: _plain(float),
    complex: _plain(complex),
    bool: _plain(bool),
    str: _str_call,
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
