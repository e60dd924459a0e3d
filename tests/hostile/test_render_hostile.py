"""Renderings of hostile values in the core stay short and fast.

Shared subtrees (2**40 paths), deep nesting, huge ints and cycles, given to
each place of the core that renders or walks a pickle-chosen value: record
state keys in error messages, ``repr``/``str`` of generic objects,
``to_builtins`` of objects it can only repr, ``emulpickle show`` / ``json`` /
``dis``. Each case runs in a child process (see ``render_harness``) and must
end with an ``emulpickle.UnpicklingError`` naming the problem in a short
message, or with a short rendering; nothing the pickles name is run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.render_harness import (
    EMPTY_TUPLE,
    HOSTILE,
    NONE,
    REDUCE,
    Case,
    call,
    check_case,
    dag,
    huge_int,
    pickle_of,
    run_cases,
    short_str,
    stack_global,
    with_cycle_mark,
)

SETUP = r"""
import contextlib, dataclasses, io
import emulpickle
from emulpickle import cli

@dataclasses.dataclass
class Record:
    a: int = 0

REG = emulpickle.Registry(parent=emulpickle.default_registry())
REG.register("render_test", "Record", Record)

def load(path, **options):
    with open(path, "rb") as f:
        return emulpickle.loads(f.read(), **options)

def run_cli(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return f"exit={code}\n" + out.getvalue() + err.getvalue()

ACTIONS = {
    "load": lambda path: str(type(load(path))),
    "record": lambda path: str(load(path, registry=REG)),
    "repr": lambda path: repr(load(path, unknown="generic")),
    "str": lambda path: str(load(path, unknown="generic")),
    "to_builtins": lambda path: str(
        emulpickle.to_builtins(load(path, unknown="generic"))
    ),
    "show": lambda path: run_cli("show", path),
    "show-json": lambda path: run_cli("show", "--json", path),
    "json": lambda path: run_cli("json", "--indent", "0", path),
    "dis": lambda path: run_cli("dis", path),
}
"""

RECORD = stack_global("render_test", "Record")
GENERIC = stack_global("render_test", "Generic")
SLICE = stack_global("builtins", "slice")
BIG_KEY = HOSTILE["bigint"]
LONG_NAME = stack_global("render_test", "n" * (1 << 20))
#: Longest CLI output accepted (a tree, or JSON with each shared part once).
CLI_OUTPUT = 100_000


def _record_with_key(key: bytes) -> bytes:
    """``Record.__new__(Record)`` then BUILD with the state ``{key: 1}``."""
    return pickle_of(
        RECORD + EMPTY_TUPLE + b"\x81" + b"}" + key + b"K\x01" + b"s" + b"b"
    )


def _canary_dag(canary: Path) -> bytes:
    """A 2**40-path DAG over ``os.system("touch CANARY")`` (inert if generic)."""
    payload = call(stack_global("os", "system"), short_str(f"touch {canary}"))
    return dag(40, payload)


def _cases(canary: Path) -> dict[str, Case]:
    values = dict(HOSTILE, dag=_canary_dag(canary))
    cases: dict[str, Case] = {
        # A hashable DAG small enough for the key checks (2**20 paths), and a
        # huge int: the message showed the whole key (or str() refused it).
        "record-key-dag": Case(
            _record_with_key(dag(20)), "record", "error", "is not a string"
        ),
        # An int key as big as keys may be (huge ones are refused as keys
        # before any record sees them), still far too long to print.
        "record-key-bigint": Case(
            _record_with_key(huge_int(3_000)), "record", "error", "<int of"
        ),
        "record-key-hugeint": Case(
            _record_with_key(BIG_KEY), "record", "error", "as a dict key"
        ),
        # Names of globals are the pickle's, of any length.
        "global-long-name": Case(
            pickle_of(LONG_NAME), "load", "error", "is not allowed"
        ),
        "repr-class-long-name": Case(
            pickle_of(LONG_NAME), "repr", "text", "<generic class render_test.nnn"
        ),
        "dis-bigint": Case(pickle_of(BIG_KEY), "dis", "text", "exit=0", CLI_OUTPUT),
    }
    for name, value in values.items():
        built = GENERIC + EMPTY_TUPLE + REDUCE  # Generic()
        shapes = {
            "args": pickle_of(call(GENERIC, value)),
            "state": pickle_of(built + value + b"b"),
            "items": pickle_of(built + value + b"a"),
        }
        for where, data in shapes.items():
            for action in ("repr", "str"):
                cases[f"{action}-{where}-{name}"] = Case(
                    data, action, "text", with_cycle_mark(name, "render_test.Generic(")
                )
        if name != "cycle":  # repr of a cyclic list was bounded already
            sliced = pickle_of(call(SLICE, value, NONE, NONE))
            # (before, a deep or huge slice read "<repr failed: ...>")
            cases[f"to_builtins-slice-{name}"] = Case(
                sliced, "to_builtins", "text", "'repr': 'slice("
            )
            for action in ("show", "show-json", "json"):
                cases[f"{action}-slice-{name}"] = Case(
                    sliced, action, "text", ("exit=0", "slice("), CLI_OUTPUT
                )
    # Shared subtrees in generic objects: each shown once, whatever the mode
    # (these walks were DAG-aware already: regression guards).
    for where in ("args", "state"):
        data = dict(
            args=pickle_of(call(GENERIC, values["dag"])),
            state=pickle_of(GENERIC + EMPTY_TUPLE + REDUCE + values["dag"] + b"b"),
        )[where]
        for action in ("show", "show-json", "json"):
            cases[f"{action}-generic-{where}-dag"] = Case(
                data, action, "text", "exit=0", CLI_OUTPUT
            )
    return cases


@pytest.fixture(scope="module")
def outcome(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, Case], dict[str, dict[str, Any]], Path]:
    tmp_path = tmp_path_factory.mktemp("render")
    cases = _cases(tmp_path / "canary")
    reports, canary = run_cases(tmp_path, SETUP, cases)
    return cases, reports, canary


CASE_NAMES = list(_cases(Path("canary")))


@pytest.mark.parametrize("name", CASE_NAMES)
def test_hostile_value_is_rendered_bounded(
    name: str, outcome: tuple[dict[str, Case], dict[str, dict[str, Any]], Path]
) -> None:
    cases, reports, canary = outcome
    check_case(name, cases[name], reports)
    assert not canary.exists()
