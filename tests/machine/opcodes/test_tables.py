"""One hand-written pickle per opcode of protocols 0-5, checked against CPython.

Valid inputs are differential: the same bytes go through ``pickle`` (the C
unpickler) and through emulpickle, and the results must be equal, including
the exact types (``True`` is not ``1``, ``b"a"`` is not ``"a"``). Invalid
inputs (empty stack, wrong operand types, missing MARK, cut arguments,
malformed arguments) must raise an :class:`emulpickle.UnpicklingError`
subclass, never IndexError/KeyError/struct.error/ValueError; each of those
inputs is first checked to be rejected by CPython as well, so the tables
cannot drift into testing valid pickles.

The tables are in ``helpers.opcode_cases``, one module per opcode family;
the family's special cases are in this folder's other test files.
"""

from __future__ import annotations

import pickle
import pickletools
from typing import Any

import pytest
from helpers import pickle_bytes as pb
from helpers.opcode_cases import BAD_MARK, BAD_STACK, MALFORMED, TRUNCATED, VALID
from helpers.opcode_cases.common import V, cpython_rejects, emu_load, ref_loads, same

import emulpickle


@pytest.mark.parametrize(("data", "options"), VALID)
def test_valid_matches_cpython(data: bytes, options: dict[str, Any], how: str) -> None:
    expected = ref_loads(data, **options)
    got = emu_load(how, data, **options)
    assert same(got, expected), (got, expected)


def test_valid_table_covers_every_opcode() -> None:
    """Every pickletools opcode appears in at least one valid or special case."""
    special = {"EXT1", "EXT2", "EXT4", "NEXT_BUFFER", "READONLY_BUFFER"}
    seen: set[str] = set()
    for param in VALID:
        data = param.values[0]
        try:
            for op, _arg, _pos in pickletools.genops(data):
                seen.add(op.name)
        except Exception:
            pass
    names = {op.name for op in pickletools.opcodes}
    assert names - seen - special == set()


def _check_rejected_by_cpython(data: bytes, options: dict[str, Any]) -> None:
    assert cpython_rejects(data, **options), "test input is accepted by CPython"


@pytest.mark.parametrize(("data", "options"), BAD_STACK)
def test_bad_stack(data: bytes, options: dict[str, Any], how: str) -> None:
    _check_rejected_by_cpython(data, options)
    with pytest.raises(emulpickle.UnpicklingError):
        emu_load(how, data, **options)


@pytest.mark.parametrize(("data", "options"), BAD_MARK)
def test_bad_mark(data: bytes, options: dict[str, Any], how: str) -> None:
    _check_rejected_by_cpython(data, options)
    with pytest.raises(emulpickle.UnpicklingError):
        emu_load(how, data, **options)


@pytest.mark.parametrize("data", TRUNCATED)
def test_truncated(data: bytes, how: str) -> None:
    _check_rejected_by_cpython(data, {})
    with pytest.raises(emulpickle.TruncatedError) as info:
        emu_load(how, data)
    assert isinstance(info.value, EOFError)
    assert isinstance(info.value, pickle.UnpicklingError)


@pytest.mark.parametrize("cut", range(1, 40))
def test_every_prefix_of_a_real_pickle_is_truncated(cut: int) -> None:
    data = pickle.dumps({"a": [1, 2.5, "x" * 3], "b": (None, True)}, protocol=4)
    if cut >= len(data):
        pytest.skip("past the end")
    with pytest.raises(emulpickle.TruncatedError):
        emulpickle.loads(data[:-cut])


@pytest.mark.parametrize(("data", "options"), MALFORMED)
def test_malformed(data: bytes, options: dict[str, Any], how: str) -> None:
    _check_rejected_by_cpython(data, options)
    with pytest.raises(emulpickle.UnpicklingError):
        emu_load(how, data, **options)


def test_every_error_table_entry_is_unique() -> None:
    seen: set[bytes] = set()
    for table in (BAD_STACK, BAD_MARK, MALFORMED):
        for p in table:
            key = p.values[0] + repr(sorted(p.values[1])).encode()
            assert key not in seen, p.id
            seen.add(key)


# ---- where errors are reported ------------------------------------------------


@pytest.mark.parametrize(
    ("data", "cls", "offset", "opcode"),
    [
        V(b"\x80\x02J\x01\x02", emulpickle.TruncatedError, 2, "BININT", id="BININT"),
        V(
            b"NNX\x05\x00\x00\x00ab",
            emulpickle.TruncatedError,
            2,
            "BINUNICODE",
            id="BINUNICODE-truncated",
        ),
        V(
            b"NNNcbuiltins\nin",
            emulpickle.TruncatedError,
            3,
            "GLOBAL",
            id="GLOBAL-truncated",
        ),
        V(b"\x80\x02K\x01a.", emulpickle.UnpicklingError, 4, "APPEND", id="APPEND"),
        V(b"\x80\x06N.", emulpickle.UnpicklingError, 0, "PROTO", id="PROTO"),
        V(b"\x80\x02K\x01l.", emulpickle.UnpicklingError, 4, "LIST", id="LIST"),
        V(
            b"\x80\x02X\x01\x00\x00\x00\xff.",
            emulpickle.UnpicklingError,
            2,
            "BINUNICODE",
            id="BINUNICODE",
        ),
        V(b"NNNS'abc\n.", emulpickle.UnpicklingError, 3, "STRING", id="STRING"),
        V(
            b"\x80\x02N\x93.",
            emulpickle.UnpicklingError,
            3,
            "STACK_GLOBAL",
            id="STACK_GLOBAL",
        ),
        V(
            b"\x80\x04" + pb.frame(b"N]a."),
            emulpickle.UnpicklingError,
            13,
            "APPEND",
            id="absolute-offset-inside-frame",
        ),
        V(b"\x80\x02]h\x07.", emulpickle.UnpicklingError, 3, "BINGET", id="BINGET"),
    ],
)
def test_error_offset_and_opcode(
    data: bytes, cls: type[Exception], offset: int, opcode: str, how: str
) -> None:
    with pytest.raises(cls) as info:
        emu_load(how, data)
    err = info.value
    assert isinstance(err, emulpickle.UnpicklingError)
    assert err.offset == offset
    assert err.opcode == opcode
    assert f"({opcode} at offset {offset})" in str(err)


def test_unknown_opcode_offset(how: str) -> None:
    with pytest.raises(emulpickle.UnpicklingError) as info:
        emu_load(how, b"\x80\x02NN\xff.")
    assert info.value.offset == 4
