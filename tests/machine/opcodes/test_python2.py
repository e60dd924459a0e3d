"""Python 2 pickles, byte for byte as Python 2.7's cPickle writes them."""

from __future__ import annotations

import pytest
from helpers.opcode_cases.common import V, cpython_rejects, emu_load, ref_loads, same

import emulpickle

PY2_LONG = 12345678901234567890
PY2_PICKLES = [
    # protocol 0
    V(b"S'abc'\np1\n.", id="p0-str"),
    V(b"S'caf\\xe9'\np1\n.", id="p0-str-nonascii"),
    V(b'S"it\'s"\np1\n.', id="p0-str-quote"),
    V(b"S'a\\nb\\x00'\np1\n.", id="p0-str-escapes"),
    V(b"Vcaf\xe9\\u20ac\np1\n.", id="p0-unicode"),
    V(b"L12345678901234567890L\n.", id="p0-long"),
    V(b"I42\n.", id="p0-int"),
    V(b"I01\n.", id="p0-bool"),
    V(b"F0.10000000000000001\n.", id="p0-float"),
    V(b"(dp1\nS'a'\np2\nI1\nsVb\np3\nL2L\nsS'c'\np4\nS'x\\xff'\np5\ns.", id="p0-dict"),
    V(b"(lp1\nI1\naS'two'\np2\na(I3\nF4.0\ntp3\na.", id="p0-list-tuple"),
    V(b"c__builtin__\nset\np1\n((lp2\nI1\naI2\natRp3\n.", id="p0-set"),
    V(b"(dp1\nS'k'\np2\n(lp3\ng2\nasS'j'\np4\ng3\ns.", id="p0-shared-refs"),
    # protocol 1
    V(b"}q\x01(U\x01aK\x01U\x01bG?\xf8\x00\x00\x00\x00\x00\x00u.", id="p1-dict"),
    V(b"]q\x01(U\x03\xe9t\xe9q\x02X\x02\x00\x00\x00\xc3\xa9q\x03e.", id="p1-list"),
    # protocol 2
    V(b"\x80\x02U\x03abcq\x01.", id="p2-str"),
    V(b"\x80\x02U\x04caf\xe9q\x01.", id="p2-str-nonascii"),
    V(b"\x80\x02T\x00\x01\x00\x00" + b"x" * 256 + b"q\x01.", id="p2-long-str"),
    V(b"\x80\x02X\x05\x00\x00\x00caf\xc3\xa9q\x01.", id="p2-unicode"),
    V(
        b"\x80\x02\x8a\x09" + PY2_LONG.to_bytes(9, "little", signed=True) + b".",
        id="p2-long",
    ),
    V(b"\x80\x02\x8a\x01\x02.", id="p2-small-long"),
    V(b"\x80\x02\x88.", id="p2-true"),
    V(
        b"\x80\x02}q\x01(U\x01aK\x01X\x01\x00\x00\x00b\x8a\x01\x02U\x01cU\x02x\xffu.",
        id="p2-dict",
    ),
    V(
        b"\x80\x02]q\x01(K\x01U\x03twoq\x02K\x03G@\x10\x00\x00\x00\x00\x00\x00\x86q"
        b"\x03e.",
        id="p2-list-tuple",
    ),
    V(b"\x80\x02c__builtin__\nset\nq\x01]q\x02(K\x01K\x02e\x85Rq\x03.", id="p2-set"),
    V(b"\x80\x02c__builtin__\nxrange\nq\x01K\x00K\x05K\x01\x87Rq\x02.", id="p2-xrange"),
    V(
        b"\x80\x02c__builtin__\nfrozenset\nq\x01]q\x02U\x01aq\x03a\x85Rq\x04.",
        id="p2-frozenset",
    ),
]


@pytest.mark.parametrize("encoding", ["latin1", "bytes"])
@pytest.mark.parametrize("data", PY2_PICKLES)
def test_python2_pickles(data: bytes, encoding: str, how: str) -> None:
    expected = ref_loads(data, encoding=encoding)
    got = emu_load(how, data, encoding=encoding)
    assert same(got, expected), (got, expected)


def test_python2_values_spelled_out() -> None:
    d = b"(dp1\nS'a'\np2\nI1\nsVb\np3\nL2L\nsS'c'\np4\nS'x\\xff'\np5\ns."
    assert emulpickle.loads(d, encoding="latin1") == {"a": 1, "b": 2, "c": "x\xff"}
    assert emulpickle.loads(d, encoding="bytes") == {b"a": 1, "b": 2, b"c": b"x\xff"}
    assert emulpickle.loads(b"\x80\x02U\x04caf\xe9q\x01.", encoding="latin1") == "café"
    assert emulpickle.loads(b"S'abc'\np1\n.") == "abc"  # default ASCII
    n = emulpickle.loads(b"L12345678901234567890L\n.")
    assert n == PY2_LONG and type(n) is int


def test_python2_bytearray_latin1(how: str) -> None:
    # Python 2.7 bytearray.__reduce__ -> (bytearray, (u'ab\xff', 'latin-1'), None)
    data = (
        b"\x80\x02c__builtin__\nbytearray\nq\x01X\x04\x00\x00\x00ab\xc3\xbfq\x02"
        b"U\x07latin-1q\x03\x86q\x04Rq\x05."
    )
    got = emu_load(how, data, encoding="latin1")
    assert same(got, ref_loads(data, encoding="latin1"))
    assert got == bytearray(b"ab\xff")


def test_python2_non_ascii_str_default_encoding_fails_cleanly(how: str) -> None:
    data = b"S'caf\\xe9'\np1\n."
    assert cpython_rejects(data)
    with pytest.raises(emulpickle.UnpicklingError):
        emu_load(how, data)
