"""Hostile values in the numpy plugin's error messages stay short and fast.

Each emulator check that names a rejected, pickle-chosen value in its
message is given a tuple shared 2**40 times, a list nested 200,000 deep, an
int of eight million bits and a cyclic list: the load must fail with an
``emulpickle.UnpicklingError`` whose short message still says what was
wrong. Also: dtypes with huge field names in messages, and ``to_builtins`` of
an object array holding a shared DAG (numpy's own repr of it renders each
path). The cases run in one child process (see ``tests/helpers/render_harness``).
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from helpers.render_harness import (
    BUILD,
    HOSTILE,
    MARK,
    NONE,
    TUPLE,
    Case,
    call,
    check_case,
    dag,
    pickle_of,
    run_cases,
    short_str,
    stack_global,
    with_cycle_mark,
)

SETUP = r"""
import emulpickle

REG = emulpickle.Registry.with_plugins("numpy")

def load(path):
    with open(path, "rb") as f:
        return emulpickle.loads(f.read(), registry=REG)

ACTIONS = {
    "load": lambda path: str(type(load(path))),
    "to_builtins": lambda path: str(emulpickle.to_builtins(load(path)))[:1000],
}
"""

CORE = "numpy._core"
DTYPE = stack_global("numpy", "dtype")
NDARRAY = stack_global("numpy", "ndarray")
RECONSTRUCT = stack_global(f"{CORE}.multiarray", "_reconstruct")
FROMBUFFER = stack_global(f"{CORE}.numeric", "_frombuffer")
FALSE, TRUE = b"\x89", b"\x88"


def _int(n: int) -> bytes:
    return b"J" + n.to_bytes(4, "little", signed=True)


def _tuple(*items: bytes) -> bytes:
    return MARK + b"".join(items) + TUPLE


def _dtype(typestr: str) -> bytes:
    return call(DTYPE, short_str(typestr), FALSE, TRUE)


def _dtype_state(typestr: str, *state: bytes) -> bytes:
    """``numpy.dtype(typestr)`` then BUILD with ``state``."""
    return pickle_of(_dtype(typestr) + _tuple(*state) + BUILD)


def _empty_array() -> bytes:
    return call(RECONSTRUCT, NDARRAY, _tuple(_int(0)), b"C\x01b")


def _pickled_dtype(dtype: Any) -> bytes:
    """The opcodes that push ``dtype``, as numpy pickles it (memo from 0)."""
    data = pickle.dumps(dtype, protocol=2)
    return data[2:-1]


def _error_cases(value: bytes) -> dict[str, tuple[bytes, str]]:
    """Pickles that give ``value`` to one check each, and what it reports."""
    little = short_str("<")
    return {
        "dtype-typestr": (
            pickle_of(call(DTYPE, value)),
            "unsupported type string",
        ),
        "dtype-state-elsize": (
            _dtype_state(
                "V8",
                _int(3),
                short_str("|"),
                NONE,
                NONE,
                NONE,
                value,
                _int(-1),
                _int(0),
            ),
            "elsize must be an int",
        ),
        "dtype-state-byteorder": (
            _dtype_state(
                "V8", _int(3), value, NONE, NONE, NONE, _int(8), _int(1), _int(0)
            ),
            "bad byte order",
        ),
        "dtype-state-datetime-unit": (
            _dtype_state(
                "M8",
                _int(4),
                little,
                NONE,
                NONE,
                NONE,
                _int(-1),
                _int(-1),
                _int(0),
                _tuple(NONE, _tuple(value, _int(1), _int(1), _int(1))),
            ),
            "unknown datetime unit",
        ),
        "dtype-state-subarray-dim": (
            _dtype_state(
                "V2",
                _int(3),
                short_str("|"),
                _tuple(_dtype("i1"), _tuple(value)),
                NONE,
                NONE,
                _int(2),
                _int(1),
                _int(0),
            ),
            "invalid dimension",
        ),
        "reconstruct-subtype": (
            pickle_of(call(RECONSTRUCT, value, _tuple(_int(0)), b"C\x01b")),
            "unsupported array class",
        ),
        "reconstruct-dim": (
            pickle_of(call(RECONSTRUCT, NDARRAY, _tuple(value), b"C\x01b")),
            "is not an int",
        ),
        "frombuffer-order": (
            pickle_of(call(FROMBUFFER, b"C\x00", _dtype("u1"), _tuple(_int(0)), value)),
            "order must be",
        ),
    }


#: Checks that take any int (then check its range, without showing it).
_INT_ACCEPTED = frozenset(
    {"dtype-state-elsize", "dtype-state-subarray-dim", "reconstruct-dim"}
)

#: A structured dtype with an object field named by a megabyte.
_BIG_NAMED = _pickled_dtype(np.dtype([("n" * (1 << 20), "O")]))


def _cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for kind, value in HOSTILE.items():
        for name, (data, match) in _error_cases(value).items():
            if kind == "bigint" and name in _INT_ACCEPTED:
                continue  # an int is fine there (and is range-checked)
            cases[f"{name}-{kind}"] = Case(
                data, "load", "error", with_cycle_mark(kind, match)
            )
    # str() of a structured dtype lists every field name.
    cases["array-state-structured-dtype"] = Case(
        pickle_of(
            _empty_array()
            + _tuple(_int(1), _tuple(_int(1)), _BIG_NAMED, FALSE, b"C\x08" + bytes(8))
            + BUILD
        ),
        "load",
        "error",
        "structured dtype of 8 bytes",
    )
    # numpy renders an object array's items with their own repr.
    object_array = pickle_of(
        _empty_array()
        + _tuple(_int(1), _tuple(_int(1)), _dtype("O8"), FALSE, b"(" + dag(40) + b"l")
        + BUILD
    )
    # Written as emulpickle json writes arrays: a summary, never the items.
    cases["to_builtins-object-array-dag"] = Case(
        object_array, "to_builtins", "text", "{'$tensor': {'dtype': 'object'"
    )
    return cases


@pytest.fixture(scope="module")
def outcome(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, Case], dict[str, dict[str, Any]]]:
    cases = _cases()
    reports, canary = run_cases(tmp_path_factory.mktemp("render"), SETUP, cases)
    assert not canary.exists()
    return cases, reports


@pytest.mark.parametrize("name", list(_cases()))
def test_hostile_value_in_numpy_message(
    name: str, outcome: tuple[dict[str, Case], dict[str, dict[str, Any]]]
) -> None:
    cases, reports = outcome
    check_case(name, cases[name], reports)
