"""Emulators for safe standard-library globals, registered in the default registry.

Builtin types answer as themselves (so ``loads(dumps(int)) is int``); calling
them from a pickle goes through validated stand-ins. The functions below
stand in for the few non-type globals that CPython emits for builtin values.

Pure-data standard-library types (``collections``, ``datetime``, ``decimal``,
``fractions``, ``uuid``, ``pathlib``, ``ipaddress``, ``array``,
``types.SimpleNamespace``, ``argparse.Namespace``) are answered by
:class:`StdlibEmulator` objects: calling one (REDUCE) or instantiating it
(NEWOBJ) validates the arguments and builds the *real* value, so a loaded
``OrderedDict`` is an ``OrderedDict``. Concrete paths (``PosixPath``,
``WindowsPath``, ``Path``) come back as their pure twins, which never touch
the file system. ``argparse.Namespace`` comes back as a real
``argparse.Namespace`` (pure data). Heavy modules are imported only when a
pickle needs them.
"""

from __future__ import annotations

import array
import collections
import datetime
import struct
import sys
import types
from collections.abc import Callable
from typing import Any, cast

from . import _semantics
from ._builtins import BUILTIN_CALLS
from ._hashkeys import check_hash_keys
from ._numbounds import check_decimal_literal, check_int, check_text
from ._render import bounded_repr
from ._textcodecs import error_handler, text_codec
from .errors import EmulationError
from .registry import Registry

__all__ = ["StdlibEmulator", "register_stdlib"]

_BUILTIN_TYPES: tuple[type, ...] = (
    bool, bytearray, bytes, complex, dict, float, frozenset, int, list, object,
    range, set, slice, str, tuple, type,
)  # fmt: skip

_MUTABLE_CONTAINERS = (list, dict, set, bytearray)


def codecs_encode(
    obj: object, encoding: object = "utf-8", errors: object = "strict"
) -> bytes:
    """``_codecs.encode``, which protocols 0-2 use for ``bytes`` (with latin-1).

    Only text codecs that are linear and data-only are allowed (see
    :mod:`emulpickle._textcodecs`): no punycode, no zlib or bz2.
    """
    what = "_codecs.encode"
    if not isinstance(obj, str):
        raise EmulationError(f"{what} expects a str, not {type(obj).__name__}")
    return obj.encode(text_codec(what, encoding), error_handler(what, errors))


def reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copyreg._reconstructor``: protocol 0/1 instances of plain classes."""
    if base is object:
        return _semantics.new(cls, (), {})
    if isinstance(cls, type) and _semantics.protocol_method(cls, "py_new") is None:
        stand_in = BUILTIN_CALLS.get(cls)
        if stand_in is not None and cls is base:
            return stand_in(state)
        if not isinstance(base, type) or not issubclass(cls, base):
            raise EmulationError("copyreg._reconstructor: class is not a subclass")
        # base.__new__ / base.__init__ run below as they are: only for classes
        # the registry answered, never for one the pickle came by otherwise.
        _semantics.check_instantiable(cls)
        if base in BUILTIN_CALLS:
            BUILTIN_CALLS[base](state)  # validate the size before the real call
        real_base: Any = base
        obj = real_base.__new__(cls, state)
        if real_base.__init__ is not object.__init__:
            real_base.__init__(obj, state)
        return obj
    if base in _MUTABLE_CONTAINERS:
        # The validated stand-ins read the state: its size and keys are
        # checked before anything is hashed or allocated.
        obj = _semantics.new(cls, (), {})
        if base is dict:
            items: list[Any] = []
            for key, value in cast(dict[Any, Any], BUILTIN_CALLS[dict](state)).items():
                items += (key, value)
            _semantics.set_items(obj, items)
        elif base is set:
            _semantics.add_items(obj, list(cast(set[Any], BUILTIN_CALLS[set](state))))
        else:
            _semantics.extend(obj, cast(list[Any], BUILTIN_CALLS[list](state)))
        return obj
    return _semantics.new(cls, (state,), {})


def newobj(cls: Any, *args: Any) -> Any:
    """``copyreg.__newobj__``: ``cls.__new__(cls, *args)``."""
    return _semantics.new(cls, args, {})


def newobj_ex(cls: Any, args: Any, kwargs: Any) -> Any:
    """``copyreg.__newobj_ex__``: ``cls.__new__(cls, *args, **kwargs)``."""
    if not isinstance(args, tuple) or not isinstance(kwargs, dict):
        raise EmulationError("copyreg.__newobj_ex__ expects (cls, tuple, dict)")
    return _semantics.new(cls, args, kwargs)


# ------------------------------------------------------------ stdlib classes


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


def _fail(what: str, message: str) -> EmulationError:
    return EmulationError(f"{what}: {message}")


def _arity(what: str, args: tuple[object, ...], low: int, high: int) -> None:
    if not low <= len(args) <= high:
        raise _fail(what, f"takes {low} to {high} arguments ({len(args)} given)")


def _exact_int(what: str, value: object) -> int:
    if type(value) is not int:
        raise _fail(what, f"expected an int, got {type(value).__name__}")
    return value


def _exact_str(what: str, value: object) -> str:
    if type(value) is not str:
        raise _fail(what, f"expected a str, got {type(value).__name__}")
    return value


def _guard(what: str, build: Callable[[], Any]) -> Any:
    """Run a real constructor on validated data; turn its errors into ours."""
    try:
        return build()
    except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:
        # The real message may quote the whole argument (Fraction does).
        raise _fail(what, f"{type(exc).__name__}: {str(exc)[:200]}") from exc


# ------------------------------------------------------------ collections


def _pairs(what: str, arg: object) -> list[tuple[object, object]]:
    """The (key, value) pairs of a new mapping; keys are checked for hashing."""
    if type(arg) is dict:
        return list(arg.items())  # keys checked when the pickle built it
    if type(arg) not in (list, tuple):
        raise _fail(
            what, f"expected a dict or a list of pairs, not {type(arg).__name__}"
        )
    pairs: list[tuple[object, object]] = []
    for item in arg:  # type: ignore[attr-defined]
        if type(item) not in (list, tuple) or len(item) != 2:
            raise _fail(what, "each item must be a (key, value) pair")
        pairs.append((item[0], item[1]))
    check_hash_keys([key for key, _ in pairs])
    return pairs


def _ordered_dict(*args: object) -> object:
    what = "collections.OrderedDict"
    _arity(what, args, 0, 1)
    return collections.OrderedDict(_pairs(what, args[0]) if args else ())


def _counter(*args: object) -> object:
    what = "collections.Counter"
    _arity(what, args, 0, 1)
    counter: collections.Counter[Any] = collections.Counter()
    if args:
        if type(args[0]) is not dict:
            raise _fail(what, "expected a dict of counts")
        plain_update: Any = dict.update  # not Counter.update, which adds counts
        plain_update(counter, _pairs(what, args[0]))
    return counter


def _deque(*args: object) -> object:
    what = "collections.deque"
    _arity(what, args, 0, 2)
    items = args[0] if args else ()
    if type(items) not in (list, tuple):
        raise _fail(what, f"items must be a list or tuple, not {type(items).__name__}")
    maxlen = args[1] if len(args) > 1 else None
    if maxlen is not None and _exact_int(what, maxlen) < 0:
        raise _fail(what, "maxlen must be non-negative")
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
    raise _fail(
        "collections.defaultdict",
        f"default_factory {bounded_repr(factory)} is not an allowed builtin type",
    )


def _defaultdict(*args: object) -> object:
    what = "collections.defaultdict"
    _arity(what, args, 0, 2)
    result: collections.defaultdict[Any, Any] = collections.defaultdict(
        _factory(args[0]) if args else None
    )
    if len(args) > 1:
        result.update(_pairs(what, args[1]))
    return result


# ------------------------------------------------------------ datetime


def _state_bytes(what: str, state: object, size: int) -> bytes:
    """The packed state; a str (Python 2 pickle, encoding="latin1") is re-encoded."""
    if type(state) is str:
        try:
            state = state.encode("latin-1")
        except UnicodeEncodeError:
            raise _fail(what, "state string is not latin-1") from None
    if type(state) is not bytes or len(state) != size:
        raise _fail(what, f"state must be {size} bytes")
    return state


def _tzinfo(what: str, args: tuple[object, ...], index: int) -> Any:
    tz = args[index] if len(args) > index else None
    if tz is not None and not isinstance(tz, datetime.tzinfo):
        raise _fail(what, f"tzinfo must be a tzinfo, not {type(tz).__name__}")
    return tz


def _ints(what: str, args: tuple[object, ...]) -> list[Any]:
    return [_exact_int(what, arg) for arg in args]


def _date(*args: object) -> object:
    what = "datetime.date"
    _arity(what, args, 1, 3)
    if type(args[0]) in (bytes, str):
        _arity(what, args, 1, 1)
        b = _state_bytes(what, args[0], 4)
        return _guard(what, lambda: datetime.date(b[0] << 8 | b[1], b[2], b[3]))
    numbers = _ints(what, args)
    return _guard(what, lambda: datetime.date(*numbers))


def _time(*args: object) -> object:
    what = "datetime.time"
    _arity(what, args, 0, 5)
    if args and type(args[0]) in (bytes, str):
        _arity(what, args, 1, 2)
        b = _state_bytes(what, args[0], 6)
        tz = _tzinfo(what, args, 1)
        hour, fold = b[0] & 0x7F, b[0] >> 7
        micro = b[3] << 16 | b[4] << 8 | b[5]
        return _guard(
            what, lambda: datetime.time(hour, b[1], b[2], micro, tz, fold=fold)
        )
    tz = None
    if len(args) == 5 or (args and not isinstance(args[-1], int)):
        tz = _tzinfo(what, args, len(args) - 1)
        args = args[:-1]
    numbers = _ints(what, args)
    make: Any = datetime.time
    return _guard(what, lambda: make(*numbers, tzinfo=tz))


def _datetime(*args: object) -> object:
    what = "datetime.datetime"
    _arity(what, args, 1, 8)
    if type(args[0]) in (bytes, str):
        _arity(what, args, 1, 2)
        b = _state_bytes(what, args[0], 10)
        tz = _tzinfo(what, args, 1)
        month, fold = b[2] & 0x7F, b[2] >> 7
        micro = b[7] << 16 | b[8] << 8 | b[9]
        return _guard(
            what,
            lambda: datetime.datetime(
                b[0] << 8 | b[1], month, b[3], b[4], b[5], b[6], micro, tz, fold=fold
            ),
        )
    tz = None
    if len(args) == 8 or not isinstance(args[-1], int):
        tz = _tzinfo(what, args, len(args) - 1)
        args = args[:-1]
    numbers = _ints(what, args)
    make: Any = datetime.datetime
    return _guard(what, lambda: make(*numbers, tzinfo=tz))


def _timedelta(*args: object) -> object:
    what = "datetime.timedelta"
    _arity(what, args, 0, 3)
    numbers = _ints(what, args)
    return _guard(what, lambda: datetime.timedelta(*numbers))


def _timezone(*args: object) -> object:
    what = "datetime.timezone"
    _arity(what, args, 1, 2)
    offset = args[0]
    if type(offset) is not datetime.timedelta:
        raise _fail(what, f"offset must be a timedelta, not {type(offset).__name__}")
    if len(args) == 1:
        return _guard(what, lambda: datetime.timezone(offset))
    name = _exact_str(what, args[1])
    return _guard(what, lambda: datetime.timezone(offset, name))


# ------------------------------------------------------------ numbers


def _decimal(*args: object) -> object:
    import decimal

    what = "decimal.Decimal"
    _arity(what, args, 0, 1)
    value = args[0] if args else "0"
    if type(value) is str:
        # Parsing is linear, but the number is kept for int() and arithmetic.
        check_text(what, value)
    elif type(value) is int:
        check_int(what, value)  # int -> Decimal is a base conversion
    else:
        raise _fail(what, f"expected a str or int, not {type(value).__name__}")
    try:
        return decimal.Decimal(value)
    except decimal.InvalidOperation:
        raise _fail(
            what, f"invalid literal {bounded_repr(value, max_chars=60)}"
        ) from None


def _fraction(*args: object) -> object:
    import fractions

    what = "fractions.Fraction"
    _arity(what, args, 0, 2)
    if len(args) == 1 and type(args[0]) is str:
        text = args[0]
        check_decimal_literal(what, text)  # "1e20000000" is 10**20000000
        return _guard(what, lambda: fractions.Fraction(text))
    numbers = _ints(what, args)
    for number in numbers:
        check_int(what, number)  # the gcd is super-linear
    if len(numbers) == 2 and numbers[1] == 0:
        raise _fail(what, "zero denominator")
    return _guard(what, lambda: fractions.Fraction(*numbers))


# ------------------------------------------------------------ uuid


def _uuid_value(what: str, value: object) -> int:
    number = _exact_int(what, value)
    if not 0 <= number < 1 << 128:
        raise _fail(what, "int is out of range (need a 128-bit integer)")
    return number


def _uuid_call(*args: object) -> object:
    import uuid

    what = "uuid.UUID"
    _arity(what, args, 1, 1)
    text = _exact_str(what, args[0])
    if len(text) > 100:
        raise _fail(what, "string too long for a UUID")
    return _guard(what, lambda: uuid.UUID(text))


def _uuid_new(*args: object, **kwargs: object) -> object:
    if args or kwargs:
        raise _fail("uuid.UUID", "__new__ takes no arguments")
    import uuid

    builder: Any = _uuid_builder()
    obj = object.__new__(builder)
    # Valid until BUILD gives the real state (CPython leaves it unset).
    object.__setattr__(obj, "int", 0)
    object.__setattr__(obj, "is_safe", uuid.SafeUUID.unknown)
    return obj


_UUID_BUILDER: list[type] = []


def _uuid_builder() -> type:
    """A layout-compatible UUID subclass that validates its BUILD state.

    After a valid state is applied the instance becomes a real ``uuid.UUID``.
    """
    if _UUID_BUILDER:
        return _UUID_BUILDER[0]
    import uuid

    class UUIDBuilder(uuid.UUID):
        __slots__ = ()

        def __init__(self) -> None:  # never called by the machine
            pass

        def py_setstate(self, state: object) -> None:
            what = "uuid.UUID"
            if type(state) is not dict or not set(state) <= {"int", "is_safe"}:
                raise _fail(what, "state must be a dict with keys 'int', 'is_safe'")
            if "int" not in state:
                raise _fail(what, "state has no 'int'")
            number = _uuid_value(what, state["int"])
            safe = state.get("is_safe", uuid.SafeUUID.unknown.value)
            if safe not in (0, -1, None) or type(safe) is bool:
                raise _fail(what, f"invalid is_safe {bounded_repr(safe)}")
            object.__setattr__(self, "int", number)
            object.__setattr__(self, "is_safe", uuid.SafeUUID(safe))
            object.__setattr__(self, "__class__", uuid.UUID)

    _UUID_BUILDER.append(UUIDBuilder)
    return UUIDBuilder


# ------------------------------------------------------------ pathlib


def _path(module: str, name: str, twin: str) -> StdlibEmulator:
    what = f"{module}.{name}"

    def make(*args: object) -> object:
        import pathlib

        parts = [_exact_str(what, arg) for arg in args]
        cls: type = getattr(pathlib, twin)
        return cls(*parts)

    return StdlibEmulator(module, name, make)


# ------------------------------------------------------------ ipaddress

_IP_BITS = {"4": 32, "6": 128}


def _ip(name: str) -> StdlibEmulator:
    what = f"ipaddress.{name}"
    bits = _IP_BITS[name[3]]
    is_address = name.endswith("Address")

    def make(*args: object) -> object:
        import ipaddress

        _arity(what, args, 1, 1)
        value = args[0]
        if type(value) is int:
            if not 0 <= value < 1 << bits:
                raise _fail(what, f"int out of range for a {bits}-bit address")
        elif type(value) is bytes and is_address:
            if len(value) != bits // 8:
                raise _fail(what, f"packed address must be {bits // 8} bytes")
        elif type(value) is str:
            if len(value) > 200:
                raise _fail(what, "address string too long")
        else:
            raise _fail(what, f"unsupported argument type {type(value).__name__}")
        cls: type = getattr(ipaddress, name)
        return _guard(what, lambda: cls(value))

    return StdlibEmulator("ipaddress", name, make)


# ------------------------------------------------------------ array

# Machine format codes of array._array_reconstructor (CPython's arraymodule.c):
# code -> (struct format with byte order, kind, item size, signed).
_MACHINE_FORMATS: dict[int, tuple[str, str, int, bool]] = {
    0: ("<B", "int", 1, False), 1: ("<b", "int", 1, True),
    2: ("<H", "int", 2, False), 3: (">H", "int", 2, False),
    4: ("<h", "int", 2, True), 5: (">h", "int", 2, True),
    6: ("<I", "int", 4, False), 7: (">I", "int", 4, False),
    8: ("<i", "int", 4, True), 9: (">i", "int", 4, True),
    10: ("<Q", "int", 8, False), 11: (">Q", "int", 8, False),
    12: ("<q", "int", 8, True), 13: (">q", "int", 8, True),
    14: ("<f", "float", 4, True), 15: (">f", "float", 4, True),
    16: ("<d", "float", 8, True), 17: (">d", "float", 8, True),
    18: ("utf-16-le", "str", 2, False), 19: ("utf-16-be", "str", 2, False),
    20: ("utf-32-le", "str", 4, False), 21: ("utf-32-be", "str", 4, False),
}  # fmt: skip

_TEXT_TYPECODES = frozenset("uw")


def _typecode(what: str, value: object) -> str:
    if type(value) is bytes:  # Python 2 pickle loaded with encoding="bytes"
        value = value.decode("latin-1")
    if type(value) is not str or len(value) != 1 or value not in array.typecodes:
        raise _fail(
            what,
            f"bad typecode {bounded_repr(value, max_chars=20)} "
            f"(must be one of {array.typecodes})",
        )
    return value


def _native_format(typecode: str) -> tuple[str, int, bool]:
    itemsize = array.array(typecode).itemsize
    if typecode in _TEXT_TYPECODES:
        return "str", itemsize, False
    if typecode in "fd":
        return "float", itemsize, True
    return "int", itemsize, typecode.islower()


def _array(*args: object) -> object:
    what = "array.array"
    _arity(what, args, 1, 2)
    typecode = _typecode(what, args[0])
    if len(args) == 1:
        return array.array(typecode)
    init = args[1]
    if type(init) is str and typecode not in _TEXT_TYPECODES:
        # Python 2 pickles the raw machine bytes as a str (encoding="latin1").
        try:
            init = init.encode("latin-1")
        except UnicodeEncodeError:
            raise _fail(what, "initializer string is not latin-1") from None
    if type(init) is bytes:
        if len(init) % array.array(typecode).itemsize:
            raise _fail(what, "bytes length is not a multiple of the item size")
        result = array.array(typecode)
        result.frombytes(init)
        return result
    if type(init) not in (list, tuple, str):
        raise _fail(
            what, f"initializer must be a list, str or bytes, not {type(init).__name__}"
        )
    items: Any = init
    return _guard(what, lambda: array.array(typecode, items))


def _array_reconstructor(*args: object) -> object:
    what = "array._array_reconstructor"
    _arity(what, args, 4, 4)
    cls, typecode, code, data = args
    if cls is not _ARRAY and cls is not array.array:
        raise _fail(what, "first argument must be array.array")
    typecode = _typecode(what, typecode)
    code = _exact_int(what, code)
    if code not in _MACHINE_FORMATS:
        raise _fail(what, f"unknown machine format code {bounded_repr(code)}")
    if type(data) is not bytes:
        raise _fail(what, "data must be bytes")
    fmt, kind, size, signed = _MACHINE_FORMATS[code]
    if len(data) % size:
        raise _fail(what, "data length is not a multiple of the item size")
    native_kind, native_size, native_signed = _native_format(typecode)
    if kind != native_kind:
        raise _fail(what, f"machine format {code} does not match typecode {typecode!r}")
    little = sys.byteorder == "little"
    if kind == "str":
        text = _guard(what, lambda: data.decode(fmt))
        return array.array(typecode, text)
    if (
        size == native_size
        and signed == native_signed
        and (size == 1 or (fmt[0] == "<") == little)
    ):
        result = array.array(typecode)
        result.frombytes(data)
        return result
    values = [item[0] for item in struct.iter_unpack(fmt, data)]
    return _guard(what, lambda: array.array(typecode, values))


_ARRAY = StdlibEmulator("array", "array", _array)


# ------------------------------------------------------------ namespaces


def _simple_namespace(*args: object) -> object:
    what = "types.SimpleNamespace"
    _arity(what, args, 0, 1)
    namespace = types.SimpleNamespace()
    if args:
        mapping = args[0]
        if type(mapping) is not dict or not all(type(k) is str for k in mapping):
            raise _fail(what, "argument must be a dict with str keys")
        namespace.__dict__.update(mapping)
    return namespace


def _argparse_namespace(*args: object, **kwargs: object) -> object:
    import argparse

    if args or kwargs:
        raise _fail("argparse.Namespace", "takes no arguments from a pickle")
    return argparse.Namespace()


def _stdlib_emulators() -> list[StdlibEmulator]:
    path_twins = {
        "PurePath": "PurePath", "PurePosixPath": "PurePosixPath",
        "PureWindowsPath": "PureWindowsPath", "Path": "PurePath",
        "PosixPath": "PurePosixPath", "WindowsPath": "PureWindowsPath",
    }  # fmt: skip
    emulators: list[StdlibEmulator] = [
        StdlibEmulator("collections", "OrderedDict", _ordered_dict),
        StdlibEmulator("collections", "Counter", _counter),
        StdlibEmulator("collections", "deque", _deque),
        StdlibEmulator("collections", "defaultdict", _defaultdict),
        StdlibEmulator("datetime", "date", _date),
        StdlibEmulator("datetime", "time", _time),
        StdlibEmulator("datetime", "datetime", _datetime),
        StdlibEmulator("datetime", "timedelta", _timedelta),
        StdlibEmulator("datetime", "timezone", _timezone),
        StdlibEmulator("decimal", "Decimal", _decimal),
        StdlibEmulator("fractions", "Fraction", _fraction),
        NewableStdlibEmulator("uuid", "UUID", _uuid_call, _uuid_new),
        _ARRAY,
        StdlibEmulator("array", "_array_reconstructor", _array_reconstructor),
        StdlibEmulator("types", "SimpleNamespace", _simple_namespace),
        NewableStdlibEmulator(
            "argparse", "Namespace", _argparse_namespace, _argparse_namespace
        ),
    ]
    for module in ("pathlib", "pathlib._local"):
        emulators += [_path(module, name, twin) for name, twin in path_twins.items()]
    for version in "46":
        for kind in ("Address", "Network", "Interface"):
            emulators.append(_ip(f"IPv{version}{kind}"))
    return emulators


def register_stdlib(registry: Registry) -> None:
    """Register the standard-library emulators into ``registry``."""
    for cls in _BUILTIN_TYPES:
        registry.register("builtins", cls.__name__, cls)
    registry.register("builtins", "Ellipsis", Ellipsis)
    registry.register("builtins", "NotImplemented", NotImplemented)
    registry.register("_codecs", "encode", codecs_encode)
    registry.register("copyreg", "_reconstructor", reconstructor)
    registry.register("copyreg", "__newobj__", newobj)
    registry.register("copyreg", "__newobj_ex__", newobj_ex)
    for emulator in _stdlib_emulators():
        registry.register(emulator.module, emulator.name, emulator)
