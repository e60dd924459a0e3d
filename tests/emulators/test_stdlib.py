"""Standard-library emulators of the default registry."""

from __future__ import annotations

import argparse
import array
import ast
import collections
import datetime
import decimal
import enum
import fractions
import ipaddress
import pathlib
import pickle
import subprocess
import sys
import types
import uuid
from typing import Any

import pytest

import emulpickle
import emulpickle.stdlib
from emulpickle import EmulationError, GenericObject, LimitExceededError

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)

TZ = datetime.timezone(datetime.timedelta(hours=-5, minutes=-30), "X")

VALUES: list[Any] = [
    collections.OrderedDict([("b", 1), ("a", [2])]),
    collections.OrderedDict(),
    collections.defaultdict(list, {"a": [1], "b": []}),
    collections.defaultdict(int),
    collections.defaultdict(None, {1: 2}),
    collections.defaultdict(collections.OrderedDict),
    collections.deque([1, "x", (2,)]),
    collections.deque([1, 2, 3], maxlen=3),
    collections.deque(maxlen=0),
    collections.Counter("abracadabra"),
    collections.Counter(),
    datetime.date(2024, 2, 29),
    datetime.date.min,
    datetime.date.max,
    datetime.time(23, 59, 58, 999999),
    datetime.time(1, 2, 3, 4, tzinfo=TZ),
    datetime.time(1, 2, fold=1),
    datetime.datetime(2020, 1, 2, 3, 4, 5, 6),
    datetime.datetime(2020, 1, 2, 3, 4, 5, 6, tzinfo=TZ),
    datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc),
    datetime.datetime(2021, 11, 7, 1, 30, fold=1),
    datetime.datetime.max,
    datetime.timedelta(days=-3, seconds=5, microseconds=7),
    datetime.timedelta.max,
    datetime.timezone.utc,
    datetime.timezone(datetime.timedelta(hours=14)),
    TZ,
    decimal.Decimal("1.10"),
    decimal.Decimal("-Infinity"),
    decimal.Decimal("1E+999999"),
    fractions.Fraction(-7, 3),
    fractions.Fraction(0),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    uuid.UUID(int=0),
    uuid.UUID(int=(1 << 128) - 1, is_safe=uuid.SafeUUID.safe),
    uuid.UUID(int=5, is_safe=uuid.SafeUUID.unsafe),
    pathlib.PurePosixPath("/a/b/c.txt"),
    pathlib.PurePosixPath("rel"),
    pathlib.PureWindowsPath(r"C:\Users\x"),
    pathlib.PureWindowsPath(r"\\server\share\f"),
    ipaddress.IPv4Address("192.168.0.1"),
    ipaddress.IPv6Address("2001:db8::1"),
    ipaddress.IPv6Address("fe80::1%eth0"),
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv6Network("2001:db8::/32"),
    ipaddress.IPv4Interface("10.1.2.3/8"),
    ipaddress.IPv6Interface("2001:db8::5/64"),
    array.array("b", [-1, 2]),
    array.array("B", [255]),
    array.array("h", [-300]),
    array.array("H", [65535]),
    array.array("i", [-(1 << 31), 7]),
    array.array("I", [(1 << 32) - 1]),
    array.array("l", [-5]),
    array.array("L", [5]),
    array.array("q", [-(1 << 63)]),
    array.array("Q", [(1 << 64) - 1]),
    array.array("f", [1.5, -0.25]),
    array.array("d", [1e300, -0.0]),
    array.array("u", "héllo\U0001f600"),
    array.array("d"),
    types.SimpleNamespace(a=1, b=[2]),
    types.SimpleNamespace(),
    argparse.Namespace(lr=0.1, layers=[1, 2]),
]


def _load(data: bytes, **kwargs: Any) -> Any:
    return emulpickle.loads(data, **kwargs)


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("value", VALUES, ids=lambda v: f"{type(v).__name__}:{v!r:.40}")
def test_roundtrip(value: Any, proto: int) -> None:
    out = _load(pickle.dumps(value, proto))
    assert type(out) is type(value)
    assert out == value
    if isinstance(value, collections.OrderedDict):
        assert list(out) == list(value)
    if isinstance(value, collections.defaultdict):
        assert out.default_factory is value.default_factory
    if isinstance(value, collections.deque):
        assert out.maxlen == value.maxlen
    if isinstance(value, (datetime.time, datetime.datetime)):
        assert out.tzinfo == value.tzinfo
        assert out.fold == (value.fold if proto >= 4 else 0)
    if isinstance(value, uuid.UUID):
        assert out.is_safe is value.is_safe
    if isinstance(value, decimal.Decimal):
        assert str(out) == str(value)
    if isinstance(value, array.array):
        assert out.typecode == value.typecode


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize(
    ("concrete", "twin"),
    [
        (pathlib.PosixPath("/tmp/x/y"), pathlib.PurePosixPath("/tmp/x/y")),
        (pathlib.Path("rel/p"), pathlib.PurePosixPath("rel/p")),
    ],
)
def test_concrete_paths_come_back_pure(concrete: Any, twin: Any, proto: int) -> None:
    out = _load(pickle.dumps(concrete, proto))
    assert type(out) is type(twin)
    assert out == twin


def test_windows_path_and_path_names() -> None:
    out = _load(
        b"\x80\x02cpathlib\nWindowsPath\nX\x03\x00\x00\x00C:\\X\x01\x00\x00\x00a\x86R."
    )
    assert type(out) is pathlib.PureWindowsPath
    assert out == pathlib.PureWindowsPath(r"C:\a")
    out = _load(b"\x80\x02cpathlib\nPath\nX\x01\x00\x00\x00/\x85R.")
    assert out == pathlib.PurePath("/")
    assert not isinstance(out, pathlib.Path)


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_nested_values(proto: int) -> None:
    value = {
        "when": [datetime.datetime(2020, 5, 1, tzinfo=TZ), datetime.date(2020, 5, 1)],
        "od": collections.OrderedDict(x=collections.Counter(a=3)),
        "dd": collections.defaultdict(set, {1: {2}}),
        "ids": (uuid.UUID(int=3), uuid.UUID(int=3)),
    }
    out = _load(pickle.dumps(value, proto))
    assert out == value
    assert type(out["ids"][0]) is uuid.UUID


# ---------------------------------------------------------------- Python 2


def test_py2_datetime_protocol2_latin1() -> None:
    # A datetime written by Python 2: SHORT_BINSTRING state, module "datetime".
    state = bytes([7, 228, 1, 2, 3, 4, 5, 0, 0, 6])
    data = b"\x80\x02cdatetime\ndatetime\nq\x00U\n" + state + b"q\x01\x85q\x02Rq\x03."
    expected = datetime.datetime(2020, 1, 2, 3, 4, 5, 6)
    assert _load(data, encoding="latin1") == expected
    assert _load(data, encoding="bytes") == expected
    assert pickle.loads(data, encoding="latin1") == expected


def test_py2_datetime_protocol0_latin1() -> None:
    # Protocol 0 as Python 2 wrote it: a STRING with escapes.
    data = (
        b"cdatetime\ndatetime\np0\n(S'\\x07\\xe4\\x01\\x02\\x03\\x04\\x05\\x00\\x00\\x06'"
        b"\np1\ntp2\nRp3\n."
    )
    expected = datetime.datetime(2020, 1, 2, 3, 4, 5, 6)
    assert pickle.loads(data, encoding="latin1") == expected
    assert _load(data, encoding="latin1") == expected


def test_py2_date_time_timedelta_latin1() -> None:
    date = b"\x80\x02cdatetime\ndate\nU\x04\x07\xe4\x02\x1d\x85R."
    assert _load(date, encoding="latin1") == datetime.date(2020, 2, 29)
    time = b"\x80\x02cdatetime\ntime\nU\x06\x17\x3b\x3a\x0f\x42\x3f\x85R."
    assert _load(time, encoding="latin1") == datetime.time(23, 59, 58, 999999)
    delta = b"\x80\x02cdatetime\ntimedelta\nK\x01K\x02K\x03\x87R."
    assert _load(delta) == datetime.timedelta(1, 2, 3)


def test_py2_protocol2_written_by_python3() -> None:
    dt = datetime.datetime(1999, 12, 31, 23, 59, 59, 500000, tzinfo=TZ)
    assert _load(pickle.dumps(dt, 2), encoding="latin1") == dt


def test_py2_ordered_dict_list_of_pairs() -> None:
    data = b"ccollections\nOrderedDict\n(((S'a'\nI1\nl(S'b'\nI2\nlltR."
    assert pickle.loads(data, encoding="latin1") == collections.OrderedDict(a=1, b=2)
    out = _load(data, encoding="latin1")
    assert type(out) is collections.OrderedDict
    assert list(out.items()) == [("a", 1), ("b", 2)]


def test_py2_array_raw_string() -> None:
    raw = array.array("i", [1, -2]).tobytes()
    data = b"\x80\x02carray\narray\nU\x01iU\x08" + raw + b"\x86R."
    assert _load(data, encoding="latin1") == array.array("i", [1, -2])
    assert _load(data, encoding="bytes") == array.array("i", [1, -2])


# ---------------------------------------------------------------- array formats


@pytest.mark.parametrize(
    ("typecode", "code", "raw", "expected"),
    [
        ("i", 9, b"\x00\x00\x00\x01\xff\xff\xff\xfe", [1, -2]),  # big-endian int32
        ("q", 8, b"\x05\x00\x00\x00", [5]),  # int32 data into int64 array
        ("h", 5, b"\x01\x00", [256]),
        ("d", 17, b"\x3f\xf8\x00\x00\x00\x00\x00\x00", [1.5]),
        ("f", 16, b"\x00\x00\x00\x00\x00\x00\xf8\x3f", [1.5]),
        ("u", 19, "hé".encode("utf-16-be"), "hé"),
        ("u", 18, "hé".encode("utf-16-le"), "hé"),
        ("B", 0, b"\x01\xff", [1, 255]),
    ],
)
def test_array_reconstructor_formats(
    typecode: str, code: int, raw: bytes, expected: Any
) -> None:
    # build (cls, typecode, code, raw) with MARK ... TUPLE
    data = (
        b"\x80\x04carray\n_array_reconstructor\n(carray\narray\n"
        + pickle.dumps(typecode, 4)[2:-1]
        + pickle.dumps(code, 4)[2:-1]
        + pickle.dumps(raw, 4)[2:-1]
        + b"tR."
    )
    out = _load(data)
    assert out == array.array(typecode, expected)


# ---------------------------------------------------------------- bad input

P2 = b"\x80\x02"


def _g(qualname: str) -> bytes:
    """A GLOBAL opcode for ``module.name``."""
    module, name = qualname.rsplit(".", 1)
    return f"c{module}\n{name}\n".encode()


XRANGE = _g("__builtin__.xrange")
ARRAY = _g("array.array")
T = b"\x85R."  # TUPLE1 REDUCE STOP
T2 = b"\x86R."  # TUPLE2 REDUCE STOP
UUID_INT = b")\x81}X\x03\x00\x00\x00int"

# name -> (global called, bytes after the global)
BAD: dict[str, tuple[str, bytes]] = {
    "date-short-state": ("datetime.date", b"C\x03\x07\xe4\x01" + T),
    "date-bad-month": ("datetime.date", b"C\x04\x07\xe4\x0d\x01" + T),
    "date-bad-day": ("datetime.date", b"C\x04\x07\xe4\x02\x1e" + T),
    "date-float": ("datetime.date", b"G@\x00\x00\x00\x00\x00\x00\x00" + T),
    "datetime-long-state": ("datetime.datetime", b"C\x0b" + bytes(11) + T),
    "datetime-bad-hour": (
        "datetime.datetime",
        b"C\x0a\x07\xe4\x01\x01\x30" + bytes(5) + T,
    ),
    "datetime-bad-tz": (
        "datetime.datetime",
        b"C\x0a\x07\xe4\x01\x01" + bytes(6) + b"K\x01" + T2,
    ),
    "time-non-latin1": (
        "datetime.time",
        b"X\x07\x00\x00\x00\xe2\x82\xac\x00\x00\x00\x00" + T,
    ),
    "time-bad-micro": ("datetime.time", b"C\x06\x00\x00\x00\xff\xff\xff" + T),
    "timedelta-str": ("datetime.timedelta", b"X\x01\x00\x00\x001" + T),
    "timedelta-overflow": ("datetime.timedelta", b"J\xff\xff\xff\x7f" + T),
    "timezone-int": ("datetime.timezone", b"K\x01" + T),
    "timezone-too-big": (
        "datetime.timezone",
        _g("datetime.timedelta") + b"K\x01" + T[:-1] + T,
    ),
    "decimal-bad": ("decimal.Decimal", b"X\x03\x00\x00\x00abc" + T),
    "decimal-list": ("decimal.Decimal", b"]" + T),
    "fraction-zero": ("fractions.Fraction", b"K\x01K\x00" + T2),
    "fraction-float": ("fractions.Fraction", b"G?\xf0\x00\x00\x00\x00\x00\x00" + T),
    "uuid-too-big": ("uuid.UUID", UUID_INT + b"\x8a\x11" + bytes(16) + b"\x01sb."),
    "uuid-negative": ("uuid.UUID", UUID_INT + b"J\xff\xff\xff\xffsb."),
    "uuid-str-int": ("uuid.UUID", UUID_INT + b"X\x01\x00\x00\x001sb."),
    "uuid-extra-key": ("uuid.UUID", b")\x81}X\x01\x00\x00\x00xK\x01sb."),
    "uuid-new-args": ("uuid.UUID", b"K\x01\x85\x81."),
    "uuid-bad-safe": (
        "uuid.UUID",
        b")\x81}(X\x03\x00\x00\x00intK\x01X\x07\x00\x00\x00is_safeK\x05ub.",
    ),
    "uuid-call-long-str": ("uuid.UUID", b"X\xe8\x03\x00\x00" + b"a" * 1000 + T),
    "path-int": ("pathlib.PurePosixPath", b"K\x01" + T),
    "ipv4-too-big": ("ipaddress.IPv4Address", b"\x8a\x05\x00\x00\x00\x00\x01" + T),
    "ipv4-bad-str": ("ipaddress.IPv4Network", b"X\x03\x00\x00\x00a.b" + T),
    "ipv6-float": ("ipaddress.IPv6Address", b"G?\xf0\x00\x00\x00\x00\x00\x00" + T),
    "array-bad-typecode": ("array.array", b"X\x01\x00\x00\x00z]" + T2),
    "array-range": (
        "array.array",
        b"X\x01\x00\x00\x00b" + XRANGE + b"K\x05" + T[:-1] + T2,
    ),
    "array-overflow": ("array.array", b"X\x01\x00\x00\x00b]M\x00\x01a" + T2),
    "array-misaligned": ("array.array", b"X\x01\x00\x00\x00iC\x03abc" + T2),
    "reconstructor-bad-code": (
        "array._array_reconstructor",
        b"(" + ARRAY + b"X\x01\x00\x00\x00iKcC\x00tR.",
    ),
    "reconstructor-misaligned": (
        "array._array_reconstructor",
        b"(" + ARRAY + b"X\x01\x00\x00\x00iK\x08C\x03abctR.",
    ),
    "reconstructor-kind-mismatch": (
        "array._array_reconstructor",
        b"(" + ARRAY + b"X\x01\x00\x00\x00iK\x10C\x08abcdefghtR.",
    ),
    "reconstructor-wrong-class": (
        "array._array_reconstructor",
        b"(" + _g("builtins.list") + b"X\x01\x00\x00\x00iK\x08C\x04abcdtR.",
    ),
    "deque-negative-maxlen": ("collections.deque", b")J\xff\xff\xff\xff" + T2),
    "deque-range": ("collections.deque", XRANGE + b"K\x05" + T[:-1] + T),
    "odict-bad-pairs": ("collections.OrderedDict", b"]K\x01a" + T),
    "counter-list": ("collections.Counter", b"]" + T),
    "defaultdict-codecs": ("collections.defaultdict", _g("_codecs.encode") + T),
    "defaultdict-reconstructor": (
        "collections.defaultdict",
        _g("copy_reg._reconstructor") + T,
    ),
    "defaultdict-type": ("collections.defaultdict", _g("__builtin__.type") + T),
    "defaultdict-int-arg": ("collections.defaultdict", b"K\x01" + T),
    "defaultdict-date": ("collections.defaultdict", _g("datetime.date") + T),
    "namespace-list": ("types.SimpleNamespace", b"]" + T),
    "namespace-int-keys": ("types.SimpleNamespace", b"}K\x01K\x02s" + T),
    "argparse-args": ("argparse.Namespace", b"K\x01\x85\x81."),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_arguments(name: str) -> None:
    qualname, rest = BAD[name]
    with pytest.raises(EmulationError):
        _load(P2 + _g(qualname) + rest)


def test_huge_array_sizes_limited() -> None:
    # range(10**12) is an allowed builtin, but array() refuses lazy iterables.
    huge = XRANGE + b"\x8a\x06\x00\x10\xa5\xd4\xe8\x00\x85R"
    data = P2 + ARRAY + b"X\x01\x00\x00\x00b" + huge + T2
    with pytest.raises((EmulationError, LimitExceededError)):
        _load(data)
    data = P2 + _g("collections.deque") + huge + T
    with pytest.raises((EmulationError, LimitExceededError)):
        _load(data)


def test_defaultdict_factories() -> None:
    for factory in (list, int, dict, set, str, None):
        out = _load(pickle.dumps(collections.defaultdict(factory), 2))
        assert out.default_factory is factory
    out = _load(pickle.dumps(collections.defaultdict(collections.deque), 4))
    assert out.default_factory is collections.deque


def test_uuid_build_only_once_makes_real_uuid() -> None:
    out = _load(pickle.dumps(uuid.UUID(int=42), 2))
    assert type(out) is uuid.UUID
    assert out.int == 42
    assert hash(out) == hash(uuid.UUID(int=42))
    with pytest.raises(TypeError):
        out.int = 1  # still immutable


def test_uuid_from_string_call() -> None:
    data = (
        P2
        + _g("uuid.UUID")
        + b"X\x20\x00\x00\x00"
        + b"12345678123456781234567812345678"
        + b"\x85R."
    )
    assert _load(data) == uuid.UUID("12345678123456781234567812345678")


def test_datetime_from_integers() -> None:
    data = P2 + _g("datetime.datetime") + b"M\xe4\x07K\x01K\x02\x87R."
    assert _load(data) == datetime.datetime(2020, 1, 2)
    data = P2 + _g("datetime.date") + b"M\xe4\x07K\x01K\x02\x87R."
    assert _load(data) == datetime.date(2020, 1, 2)


def test_emulators_are_registered_not_real_classes() -> None:
    reg = emulpickle.default_registry()
    for module, name in [
        ("collections", "OrderedDict"),
        ("datetime", "datetime"),
        ("uuid", "UUID"),
        ("pathlib", "PosixPath"),
        ("array", "_array_reconstructor"),
    ]:
        resolution = reg.resolve(module, name)
        assert resolution is not None
        assert not isinstance(resolution.value, type)
        assert name in repr(resolution.value)


# ---------------------------------------------------------------- enums


class Color(enum.Enum):
    RED = 1
    GREEN = "g"


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_unregistered_enum_is_generic(proto: int) -> None:
    out = _load(pickle.dumps([Color.RED, Color.GREEN], proto), unknown="generic")
    assert [type(o) for o in out] == [GenericObject, GenericObject]
    assert out[0].args == (1,)
    assert out[1].args == ("g",)
    assert out[0].cls.name == "Color"


def test_unregistered_enum_refused_by_default() -> None:
    with pytest.raises(emulpickle.ForbiddenGlobalError):
        _load(pickle.dumps(Color.RED, 2))


# ---------------------------------------------------------------- imports

_IMPORT_CHECK = """
import sys
import emulpickle
import emulpickle.stdlib
before = set(sys.modules)
import emulpickle.stdlib
print(",".join(sorted(set(sys.modules) - before)))
before = set(sys.modules)
data = {data!r}
out = emulpickle.loads(data, unknown="generic")
new = sorted(set(sys.modules) - before)
print(",".join(new))
"""


def _modules_imported_by(data: bytes) -> tuple[str, list[str]]:
    code = _IMPORT_CHECK.format(data=data)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    first, second = result.stdout.splitlines()
    return first, [m for m in second.split(",") if m]


def test_import_emulpickle_is_lazy_and_loading_imports_nothing_named() -> None:
    data = pickle.dumps(
        [
            collections.OrderedDict(a=1),
            datetime.datetime(2020, 1, 1),
            array.array("i", [1]),
            pathlib.PurePosixPath("/x"),
            types.SimpleNamespace(a=1),
        ],
        4,
    )
    eager, new = _modules_imported_by(data)
    assert eager in ("", "emulpickle.stdlib")
    # The paths family builds real pure paths, so it imports pathlib (and
    # what pathlib imports) when a pickle holds one; an editable install has
    # imported those at start-up already, a regular install has not.
    assert set(new) <= {"pathlib"} | _imported_by_import("pathlib")


def _imported_by_import(module: str) -> set[str]:
    """The modules ``import module`` adds in a fresh interpreter."""
    code = (
        "import sys; before = set(sys.modules); "
        f"import {module}; print(','.join(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return {m for m in result.stdout.strip().split(",") if m}


HEAVY = {"decimal", "fractions", "uuid", "ipaddress", "pathlib", "argparse"}


def test_heavy_modules_are_not_imported_at_top_level() -> None:
    emulators = pathlib.Path(emulpickle.stdlib.__file__).parent / "emulators"
    sources = [emulpickle.stdlib.__file__, *sorted(emulators.glob("*.py"))]
    trees = [ast.parse(pathlib.Path(f).read_text("utf-8")) for f in sources]
    body = [node for tree in trees for node in tree.body]
    top: set[str] = set()
    for node in body:
        if isinstance(node, ast.Import):
            top.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            top.add(node.module.split(".")[0])
    assert not top & HEAVY


def test_loading_never_imports_pickle_named_modules() -> None:
    data = P2 + _g("xml.dom.minidom.parseString") + b"X\x01\x00\x00\x00a\x85R."
    _, new = _modules_imported_by(data)
    assert not any(m.startswith("xml") for m in new)
    # argparse is only imported by its emulator, when a pickle needs it.
    _, new = _modules_imported_by(pickle.dumps(collections.OrderedDict(), 2))
    assert "argparse" not in new
    _, new = _modules_imported_by(pickle.dumps(argparse.Namespace(a=1), 2))
    assert "argparse" in new
