"""The disassembler: agrees with pickletools on valid input, with the machine on
what is malformed, and names every global the machine would resolve."""

from __future__ import annotations

import collections
import datetime
import fractions
import io
import pickle
import pickletools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import emulpickle
from emulpickle.disasm import GlobalRef, disassemble, format_instruction

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(value=values, protocol=st.sampled_from(list(PROTOCOLS)))
def test_opcodes_and_offsets_match_pickletools(value: object, protocol: int) -> None:
    data = pickle.dumps(value, protocol)
    ours = [(ins.offset, ins.opcode) for ins in disassemble(data)]
    theirs = [(pos, op.name) for op, _arg, pos in pickletools.genops(data)]
    assert ours == theirs


STDLIB_VALUES = [
    collections.OrderedDict(a=1),
    collections.deque([1, 2], maxlen=3),
    datetime.datetime(2024, 5, 6, 7, 8, 9),
    fractions.Fraction(3, 7),
    {1, 2},
    frozenset({3}),
    b"bytes",
    bytearray(b"ba"),
    complex(1, 2),
    range(3),
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_globals_are_the_ones_the_machine_resolves(protocol: int) -> None:
    data = pickle.dumps(STDLIB_VALUES, protocol, fix_imports=False)
    asked: list[tuple[str, str]] = []

    def find_class(module: str, name: str) -> object:
        asked.append((module, name))
        found = emulpickle.default_registry().resolve(module, name)
        assert found is not None
        return found.value

    emulpickle.loads(data, find_class=find_class, fix_imports=False)
    named = [
        (ins.global_ref.module, ins.global_ref.name)
        for ins in disassemble(data)
        if ins.global_ref is not None
    ]
    assert named == asked


def test_memoized_stack_global_names_are_resolved() -> None:
    # 'os' and 'system' pushed, memoized, popped, fetched back with BINGET.
    data = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94002h\x00h\x01\x93\x8c\x02hi\x85R."
    data = data.replace(b"002", b"00")
    refs = [i.global_ref for i in disassemble(data) if i.global_ref is not None]
    where = data.index(b"\x93")
    assert refs == [GlobalRef("os", "system", "STACK_GLOBAL", where)]
    with pytest.raises(emulpickle.ForbiddenGlobalError) as info:
        emulpickle.loads(data)
    assert (info.value.module, info.value.name, info.value.offset) == (
        "os",
        "system",
        where,
    )


def test_dynamic_stack_global_is_reported_as_such() -> None:
    # The module name is the result of a call: unknowable without running it.
    data = b"\x80\x04cbuiltins\nstr\n\x8c\x02os\x85R\x8c\x06system\x93."
    refs = [i.global_ref for i in disassemble(data) if i.global_ref is not None]
    assert refs[0] == GlobalRef("builtins", "str", "GLOBAL", 2)
    assert refs[1].dynamic and refs[1].via == "STACK_GLOBAL"


def test_python2_string_names_are_seen() -> None:
    data = b"\x80\x02U\x02osq\x00U\x06systemq\x01\x93."
    refs = [i.global_ref for i in disassemble(data) if i.global_ref is not None]
    assert refs == [GlobalRef("os", "system", "STACK_GLOBAL", data.index(b"\x93"))]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_truncation_fails_like_the_machine(protocol: int) -> None:
    data = pickle.dumps([1, "two", (3.0, b"4"), {"k": None}], protocol)
    for cut in range(len(data)):
        prefix = data[:cut]
        with pytest.raises(emulpickle.UnpicklingError):
            list(disassemble(prefix))
        with pytest.raises(emulpickle.UnpicklingError):
            emulpickle.loads(prefix)


HOSTILE = [
    b"\x80\x04]\x94(\x90.",  # ADDITEMS on a list: fine for dis, bad for load
    b"\x80\x04e.",  # APPENDS without MARK
    b"\x80\x04h\x05.",  # GET of a missing memo slot
    b"\x80\x06N.",  # protocol 6
    b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00J\x01\x02\x03\x04.",  # straddle
    b"\x80\x04\x95\x01\x00\x00\x00\x00\x00\x00\x00K\x01.",  # arg after frame: ok
    b"S'abc\n.",  # unquoted STRING
    b"\xff",
]


@pytest.mark.parametrize("data", HOSTILE)
def test_machine_errors_are_disassembly_errors_or_later(data: bytes) -> None:
    try:
        emulpickle.loads(data, unknown="generic")
    except emulpickle.UnpicklingError as load_error:
        try:
            listing = list(disassemble(data))
        except emulpickle.UnpicklingError as dis_error:
            assert dis_error.offset == load_error.offset
        else:
            # Only object-level errors (wrong operand types) pass the listing.
            assert listing[-1].opcode == "STOP"
    else:
        assert list(disassemble(data))[-1].opcode == "STOP"


def test_listing_format() -> None:
    lines = [format_instruction(i) for i in disassemble(pickle.dumps({"a": 1}, 4))]
    assert lines[0].split() == ["0:", "PROTO", "4"]
    assert any("memo[0]" in line for line in lines)
    assert lines[-1].split() == [f"{len(pickle.dumps({'a': 1}, 4)) - 1}:", "STOP"]


def test_stacked_pickles_disassemble_from_an_offset() -> None:
    buffer = io.BytesIO()
    pickle.dump([1], buffer, 2)
    second = buffer.tell()
    pickle.dump({"b": 2}, buffer, 4)
    data = buffer.getvalue()
    assert [i.opcode for i in disassemble(data, start=second)][-1] == "STOP"
    assert next(iter(disassemble(data, start=second))).offset == second
