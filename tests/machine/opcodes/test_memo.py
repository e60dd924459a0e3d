"""The memo: objects keep their identity through the memo and DUP, recursive
structures load, and a MEMOIZE folded into the opcode before it memoizes the
object that opcode made.
"""

from __future__ import annotations

import pytest
from helpers import pickle_bytes as pb
from helpers.opcode_cases.common import S, V, emu_load


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x04K\x01\x85\x94h\x00\x86.",
        b"\x80\x04(K\x01t\x94h\x00\x86.",
        b"\x80\x04" + S("builtins") + S("list") + b"\x93)\x81\x94h\x00\x86.",
        b"\x80\x04" + pb.frame(b"K\x01\x85") + pb.frame(b"\x94h\x00\x86."),
    ],
    ids=["TUPLE1", "TUPLE", "NEWOBJ", "next-frame"],
)
def test_memoized_as_made_is_the_object_got(data: bytes, how: str) -> None:
    """A MEMOIZE the machine folds into the opcode before it memoizes that
    very object, as a separate MEMOIZE does."""
    first, second = emu_load(how, data)
    assert first is second


@pytest.mark.parametrize(
    "data",
    [
        V(b"]2\x86.", id="DUP"),
        V(b"]p0\ng0\n\x86.", id="PUT-GET"),
        V(b"]q\x01h\x01\x86.", id="BINPUT-BINGET"),
        V(b"]r\x00\x00\x01\x00j\x00\x00\x01\x00\x86.", id="LONG_BINPUT-LONG_BINGET"),
        V(b"]\x94h\x00\x86.", id="MEMOIZE"),
    ],
)
def test_memo_preserves_identity(data: bytes, how: str) -> None:
    a, b = emu_load(how, data)
    assert a == [] and a is b


def test_recursive_list(how: str) -> None:
    got = emu_load(how, b"]q\x00h\x00a.")
    assert isinstance(got, list) and len(got) == 1 and got[0] is got


def test_recursive_dict(how: str) -> None:
    got = emu_load(how, b"\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s.")
    assert got["a"] is got
