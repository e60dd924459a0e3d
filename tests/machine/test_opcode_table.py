"""The one opcode table agrees with CPython's ``pickletools`` on every opcode."""

from __future__ import annotations

import pickletools

import pytest

from emulpickle.machine import opcodes as op

# pickletools' argument descriptors -> our layouts.
_LAYOUTS = {
    None: op.NO_ARG,
    "uint1": op.U1,
    "uint2": op.U2,
    "int4": op.I4,
    "uint4": op.U4,
    "uint8": op.U8,
    "float8": op.F8,
    "long1": op.LEN1,
    "long4": op.LEN4S,
    "string1": op.LEN1,
    "string4": op.LEN4S,
    "bytes1": op.LEN1,
    "bytes4": op.LEN4,
    "bytes8": op.LEN8,
    "bytearray8": op.LEN8,
    "unicodestring1": op.LEN1,
    "unicodestring4": op.LEN4,
    "unicodestring8": op.LEN8,
    "decimalnl_short": op.LINE,
    "decimalnl_long": op.LINE,
    "floatnl": op.LINE,
    "stringnl": op.LINE,
    "stringnl_noescape": op.LINE,
    "unicodestringnl": op.LINE,
    "stringnl_noescape_pair": op.LINE2,
}

CPYTHON = {info.name: info for info in pickletools.opcodes}


def test_same_opcodes_as_cpython() -> None:
    assert set(op.BY_NAME) == set(CPYTHON)
    assert len(op.OPCODES) == len(op.BY_CODE) == len(CPYTHON)


@pytest.mark.parametrize("name", sorted(CPYTHON))
def test_each_opcode_matches_pickletools(name: str) -> None:
    ours, theirs = op.BY_NAME[name], CPYTHON[name]
    assert ours.code == ord(theirs.code)
    assert ours.proto == theirs.proto
    arg = theirs.arg.name if theirs.arg is not None else None
    assert ours.arg == _LAYOUTS[arg]
    # The named constant is the code, and names round-trip.
    assert getattr(op, name) == ours.code
    assert op.opcode_name(ours.code) == name


@pytest.mark.parametrize("name", sorted(CPYTHON))
def test_stack_effects_match_pickletools(name: str) -> None:
    """How many items each opcode pops and pushes, and whether MARK-bounded."""
    ours, theirs = op.BY_NAME[name], CPYTHON[name]

    def shape(items: list[object]) -> tuple[int, bool]:
        names = [getattr(item, "name", "") for item in items]
        marks = [n for n in names if n == "mark"]
        # pickletools writes "mark, stackslice" for what a MARK bounds.
        rest = [n for n in names if n not in ("mark", "stackslice")]
        return len(rest), bool(marks)

    assert shape(theirs.stack_before) == (
        sum(1 for item in ours.stack_before if item != "mark"),
        "mark" in ours.stack_before,
    )
    assert shape(theirs.stack_after) == (
        sum(1 for item in ours.stack_after if item != "mark"),
        "mark" in ours.stack_after,
    )


def test_unknown_codes_are_named_as_such() -> None:
    assert op.opcode_name(-1) is None
    assert op.opcode_name(0xFF) == "<unknown opcode 0xff>"
