"""Python 2 names (mapped before the hook, or not with fix_imports=False),
Python 2 str encodings, and real pickles written by Python 2.7.
"""

from __future__ import annotations

import _compat_pickle
import collections
import datetime
import functools
import io
import pickle
import pickletools
import reprlib
from typing import Any

import pytest
from helpers.strategies import assert_same, real_find_class, recording

import emulpickle


def _py2_names_value() -> Any:
    return [
        reprlib.Repr(),
        collections.UserDict(a=1),
        collections.UserList([1]),
        ValueError("x"),
        range(3),
        set,
        str,
        functools.reduce,
        {1, 2},
        b"bytes",
    ]


def _globals_in(data: bytes) -> list[tuple[str, str]]:
    return [
        tuple(arg.split(" ", 1))
        for op, arg, _ in pickletools.genops(data)  # type: ignore[misc]
        if op.name == "GLOBAL"
    ]


@pytest.mark.parametrize("protocol", [0, 1, 2])
def test_python2_names_are_mapped_before_the_hook(protocol: int) -> None:
    data = pickle.dumps(_py2_names_value(), protocol, fix_imports=True)
    raw = _globals_in(data)
    assert ("repr", "Repr") in raw or protocol < 2  # reprlib renamed (module only)
    assert ("UserDict", "IterableUserDict") in raw
    assert ("__builtin__", "set") in raw and ("exceptions", "ValueError") in raw
    if protocol < 2:
        assert ("copy_reg", "_reconstructor") in raw

    expected = pickle.loads(data)
    seen: list[Any] = []
    got = emulpickle.loads(data, find_class=recording(real_find_class, seen))
    assert_same(expected, got)
    py2_modules = {m for m, _ in _compat_pickle.IMPORT_MAPPING.items()} | {
        "exceptions",
        "__builtin__",
    }
    assert not [s for s in seen if s[0] in py2_modules], seen
    for name in [
        ("reprlib", "Repr"),
        ("collections", "UserDict"),
        ("builtins", "ValueError"),
        ("builtins", "range"),
        ("builtins", "set"),
        ("functools", "reduce"),
    ]:
        if name == ("reprlib", "Repr") and protocol < 2:
            continue
        assert name in seen, (name, seen)
    if protocol < 2:
        assert ("copyreg", "_reconstructor") in seen

    # the same through an overridden method
    method_seen: list[Any] = []

    class U(emulpickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            method_seen.append((module, name))
            return real_find_class(module, name)

    assert_same(expected, U(io.BytesIO(data)).load())
    assert method_seen == seen


def test_renamed_module_class_protocol2() -> None:
    """reprlib.Repr is written as 'repr Repr' at protocol 2; the hook sees 'reprlib'."""
    data = pickle.dumps(reprlib.Repr(), 2)
    assert ("repr", "Repr") in _globals_in(data)
    seen: list[Any] = []
    got = emulpickle.loads(data, find_class=recording(real_find_class, seen))
    assert seen == [("reprlib", "Repr")]
    assert_same(pickle.loads(data), got)


@pytest.mark.parametrize("protocol", [0, 1, 2])
def test_fix_imports_false_passes_raw_names(protocol: int) -> None:
    data = pickle.dumps(_py2_names_value(), protocol)
    seen: list[Any] = []

    def mapping_hook(module: str, name: str) -> Any:
        seen.append((module, name))
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        return real_find_class(module, name)

    got = emulpickle.loads(data, find_class=mapping_hook, fix_imports=False)
    assert_same(pickle.loads(data), got)
    assert ("__builtin__", "set") in seen and ("UserDict", "IterableUserDict") in seen
    assert ("exceptions", "ValueError") in seen


def test_no_mapping_at_protocol_3() -> None:
    data = b"\x80\x03c__builtin__\nset\nq\x00."
    with pytest.raises(ModuleNotFoundError):
        pickle.loads(data)  # CPython maps only when proto < 3
    seen: list[Any] = []
    sentinel = object()
    got = emulpickle.loads(data, find_class=recording(lambda m, n: sentinel, seen))
    assert got is sentinel and seen == [("__builtin__", "set")]
    # ...whereas the same global at protocol 2 is mapped
    seen.clear()
    emulpickle.loads(
        b"\x80\x02c__builtin__\nset\nq\x00.",
        find_class=recording(lambda m, n: sentinel, seen),
    )
    assert seen == [("builtins", "set")]


PY2_STRINGS = [
    b"S'caf\\xe9'\np0\n.",  # STRING
    b"U\x04caf\xe9q\x00.",  # SHORT_BINSTRING
    b"T\x04\x00\x00\x00caf\xe9q\x00.",  # BINSTRING
    b"(S'a'\nU\x01\xffT\x02\x00\x00\x00\x00\x80l.",  # list of str
]


@pytest.mark.parametrize("data", PY2_STRINGS)
@pytest.mark.parametrize(
    "options",
    [
        {"encoding": "latin1"},
        {"encoding": "bytes"},
        {"encoding": "ascii", "errors": "replace"},
        {"encoding": "ascii", "errors": "surrogateescape"},
        {"encoding": "utf-8", "errors": "backslashreplace"},
    ],
    ids=lambda o: "-".join(o.values()),
)
def test_python2_str_encoding(data: bytes, options: dict[str, str]) -> None:
    expected = pickle.loads(data, **options)
    assert_same(expected, emulpickle.loads(data, **options))
    assert_same(expected, emulpickle.loads(data, find_class=real_find_class, **options))


def test_python2_datetime_with_latin1() -> None:
    data = (
        b"cdatetime\ndatetime\np0\n(S'\\x07\\xdf\\x01\\x02\\x03\\x04\\x05\\x00\\x00\\x06'\np1\ntp2\n"
        b"Rp3\n."
    )
    expected = pickle.loads(data, encoding="latin1")
    assert expected == datetime.datetime(2015, 1, 2, 3, 4, 5, 6)
    assert_same(
        expected, emulpickle.loads(data, find_class=real_find_class, encoding="latin1")
    )


# Pickles written by Python 2.7.18's pickle.dumps(obj, protocol), protocols 0, 1, 2.
# Builtins only: {'str': 'caf\xe9', 'unicode': u'caf\xe9\u20ac\U0001f600',
# 'long': 2**70, 'neg': -2**40, 'set': set([1, 2]), 'fs': frozenset(['a']),
# 'xr': xrange(1, 10, 2), 'tuple': (1.5, None, True, -0.0), 'bytes': '\x00\xff',
# 'shared': ['x'*3]*2, 'big': 'y'*300}
# ('Y300' stands for the 300 'y's.)
PY2_BUILTIN_PICKLES = [
    (
        b"(dp0\nS'set'\np1\nc__builtin__\nset\np2\n((lp3\nI1\naI2\natp4\nRp5\nsS'tuple"
        b"'\np6\n(F1.5\nNI01\nF-0.0\ntp7\nsS'big'\np8\nS'Y300'\np9\nsS'fs'\np10\nc__bu"
        b"iltin__\nfrozenset\np11\n((lp12\nS'a'\np13\natp14\nRp15\nsS'unicode'\np16\nV"
        b"caf\xe9\\u20ac\\U0001f600\np17\nsS'xr'\np18\nc__builtin__\nxrange\np19\n(I1"
        b"\nI11\nI2\ntp20\nRp21\nsS'neg'\np22\nI-1099511627776\nsS'bytes'\np23\nS'\\x0"
        b"0\\xff'\np24\nsS'long'\np25\nL1180591620717411303424L\nsS'str'\np26\nS'caf\\"
        b"xe9'\np27\nsS'shared'\np28\n(lp29\nS'xxx'\np30\nag30\nas."
    ).replace(b"Y300", b"y" * 300),
    (
        b"}q\x00(U\x03setq\x01c__builtin__\nset\nq\x02(]q\x03(K\x01K\x02etq\x04Rq\x05U"
        b"\x05tupleq\x06(G?\xf8\x00\x00\x00\x00\x00\x00NI01\nG\x80\x00\x00\x00\x00\x00"
        b"\x00\x00tq\x07U\x03bigq\x08T,\x01\x00\x00Y300q\tU\x02fsq\nc__builtin__\nfroz"
        b"enset\nq\x0b(]q\x0cU\x01aq\ratq\x0eRq\x0fU\x07unicodeq\x10X\x0c\x00\x00\x00c"
        b"af\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80q\x11U\x02xrq\x12c__builtin__\nxrange"
        b"\nq\x13(K\x01K\x0bK\x02tq\x14Rq\x15U\x03negq\x16I-1099511627776\nU\x05bytesq"
        b"\x17U\x02\x00\xffq\x18U\x04longq\x19L1180591620717411303424L\nU\x03strq\x1aU"
        b"\x04caf\xe9q\x1bU\x06sharedq\x1c]q\x1d(U\x03xxxq\x1eh\x1eeu."
    ).replace(b"Y300", b"y" * 300),
    (
        b"\x80\x02}q\x00(U\x03setq\x01c__builtin__\nset\nq\x02]q\x03(K\x01K\x02e\x85q"
        b"\x04Rq\x05U\x05tupleq\x06(G?\xf8\x00\x00\x00\x00\x00\x00N\x88G\x80\x00\x00"
        b"\x00\x00\x00\x00\x00tq\x07U\x03bigq\x08T,\x01\x00\x00Y300q\tU\x02fsq\nc__bui"
        b"ltin__\nfrozenset\nq\x0b]q\x0cU\x01aq\ra\x85q\x0eRq\x0fU\x07unicodeq\x10X"
        b"\x0c\x00\x00\x00caf\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80q\x11U\x02xrq\x12c__b"
        b"uiltin__\nxrange\nq\x13K\x01K\x0bK\x02\x87q\x14Rq\x15U\x03negq\x16I-10995116"
        b"27776\nU\x05bytesq\x17U\x02\x00\xffq\x18U\x04longq\x19\x8a\t\x00\x00\x00\x00"
        b"\x00\x00\x00\x00@U\x03strq\x1aU\x04caf\xe9q\x1bU\x06sharedq\x1c]q\x1d(U\x03x"
        b"xxq\x1eh\x1eeu."
    ).replace(b"Y300", b"y" * 300),
]


# With stdlib objects: adds datetime.datetime, datetime.date, collections.OrderedDict,
# decimal.Decimal to the above (without 'shared' and 'big').
PY2_STDLIB_PICKLES = [
    (
        b"(dp0\nS'set'\np1\nc__builtin__\nset\np2\n((lp3\nI1\naI2\natp4\nRp5\nsS'tuple"
        b"'\np6\n(F1.5\nNI01\ntp7\nsS'int'\np8\nI7\nsS'xr'\np9\nc__builtin__\nxrange\n"
        b"p10\n(I1\nI11\nI2\ntp11\nRp12\nsS'fs'\np13\nc__builtin__\nfrozenset\np14\n(("
        b"lp15\nS'a'\np16\natp17\nRp18\nsS'unicode'\np19\nVcaf\xe9\\u20ac\np20\nsS'dat"
        b"e'\np21\ncdatetime\ndate\np22\n(S'\\x07\\xd0\\x01\\x01'\np23\ntp24\nRp25\nsS"
        b"'dt'\np26\ncdatetime\ndatetime\np27\n(S'\\x07\\xdf\\x01\\x02\\x03\\x04\\x05"
        b"\\x00\\x00\\x06'\np28\ntp29\nRp30\nsS'neg'\np31\nI-1099511627776\nsS'od'\np3"
        b"2\nccollections\nOrderedDict\np33\n((lp34\n(lp35\ng16\naI1\naatp36\nRp37\nsS"
        b"'bytes'\np38\nS'\\x00\\xff'\np39\nsS'long'\np40\nL1180591620717411303424L\ns"
        b"S'str'\np41\nS'caf\\xe9'\np42\nsS'dec'\np43\ncdecimal\nDecimal\np44\n(S'1.5'"
        b"\np45\ntp46\nRp47\ns."
    ),
    (
        b"}q\x00(U\x03setq\x01c__builtin__\nset\nq\x02(]q\x03(K\x01K\x02etq\x04Rq\x05U"
        b"\x05tupleq\x06(G?\xf8\x00\x00\x00\x00\x00\x00NI01\ntq\x07U\x03intq\x08K\x07U"
        b"\x02xrq\tc__builtin__\nxrange\nq\n(K\x01K\x0bK\x02tq\x0bRq\x0cU\x02fsq\rc__b"
        b"uiltin__\nfrozenset\nq\x0e(]q\x0fU\x01aq\x10atq\x11Rq\x12U\x07unicodeq\x13X"
        b"\x08\x00\x00\x00caf\xc3\xa9\xe2\x82\xacq\x14U\x04dateq\x15cdatetime\ndate\nq"
        b"\x16(U\x04\x07\xd0\x01\x01q\x17tq\x18Rq\x19U\x02dtq\x1acdatetime\ndatetime\n"
        b"q\x1b(U\n\x07\xdf\x01\x02\x03\x04\x05\x00\x00\x06q\x1ctq\x1dRq\x1eU\x03negq"
        b'\x1fI-1099511627776\nU\x02odq ccollections\nOrderedDict\nq!(]q"]q#(h\x10K'
        b"\x01eatq$Rq%U\x05bytesq&U\x02\x00\xffq'U\x04longq(L1180591620717411303424L"
        b"\nU\x03strq)U\x04caf\xe9q*U\x03decq+cdecimal\nDecimal\nq,(U\x031.5q-tq.Rq/u."
    ),
    (
        b"\x80\x02}q\x00(U\x03setq\x01c__builtin__\nset\nq\x02]q\x03(K\x01K\x02e\x85q"
        b"\x04Rq\x05U\x05tupleq\x06G?\xf8\x00\x00\x00\x00\x00\x00N\x88\x87q\x07U\x03in"
        b"tq\x08K\x07U\x02xrq\tc__builtin__\nxrange\nq\nK\x01K\x0bK\x02\x87q\x0bRq\x0c"
        b"U\x02fsq\rc__builtin__\nfrozenset\nq\x0e]q\x0fU\x01aq\x10a\x85q\x11Rq\x12U"
        b"\x07unicodeq\x13X\x08\x00\x00\x00caf\xc3\xa9\xe2\x82\xacq\x14U\x04dateq\x15c"
        b"datetime\ndate\nq\x16U\x04\x07\xd0\x01\x01q\x17\x85q\x18Rq\x19U\x02dtq\x1acd"
        b"atetime\ndatetime\nq\x1bU\n\x07\xdf\x01\x02\x03\x04\x05\x00\x00\x06q\x1c\x85"
        b"q\x1dRq\x1eU\x03negq\x1fI-1099511627776\nU\x02odq ccollections\nOrderedDict"
        b"\nq!]q\"]q#(h\x10K\x01ea\x85q$Rq%U\x05bytesq&U\x02\x00\xffq'U\x04longq(\x8a"
        b"\t\x00\x00\x00\x00\x00\x00\x00\x00@U\x03strq)U\x04caf\xe9q*U\x03decq+cdecima"
        b"l\nDecimal\nq,U\x031.5q-\x85q.Rq/u."
    ),
]


@pytest.mark.parametrize(
    "data", PY2_BUILTIN_PICKLES, ids=["py2-proto0", "py2-proto1", "py2-proto2"]
)
@pytest.mark.parametrize("encoding", ["latin1", "bytes"])
def test_real_python2_pickles_default_registry(data: bytes, encoding: str) -> None:
    expected = pickle.loads(data, encoding=encoding)
    got = emulpickle.loads(data, encoding=encoding)
    assert_same(expected, got)

    def key(k: str) -> Any:  # Python 2 str keys are bytes with encoding="bytes"
        return k.encode() if encoding == "bytes" else k

    assert got[key("xr")] == range(1, 11, 2) and type(got[key("xr")]) is range
    assert got[key("shared")][0] is got[key("shared")][1]
    assert got[key("unicode")] == "caf\xe9\u20ac\U0001f600"
    assert got[key("str")] == ("caf\xe9" if encoding == "latin1" else b"caf\xe9")


@pytest.mark.parametrize(
    "data", PY2_STDLIB_PICKLES, ids=["py2-proto0", "py2-proto1", "py2-proto2"]
)
def test_real_python2_pickles_trusting(data: bytes) -> None:
    expected = pickle.loads(data, encoding="latin1")
    seen: list[Any] = []
    got = emulpickle.loads(
        data, encoding="latin1", find_class=recording(real_find_class, seen)
    )
    assert_same(expected, got)
    assert got["dt"] == datetime.datetime(2015, 1, 2, 3, 4, 5, 6)
    assert sorted(set(seen)) == sorted(
        {
            ("builtins", "set"),
            ("builtins", "frozenset"),
            ("builtins", "range"),
            ("datetime", "datetime"),
            ("datetime", "date"),
            ("collections", "OrderedDict"),
            ("decimal", "Decimal"),
        }
    )
