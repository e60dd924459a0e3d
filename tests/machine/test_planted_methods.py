"""Hostile: BUILD state may not plant behaviour on a value the pickle made.

The attack: BUILD a value that takes attributes (a SimpleNamespace, an
OrderedDict, a GenericObject...) with a state that names an emulation
protocol method (``py_call``...) or a method pickle's rules use
(``__setstate__``, ``extend``, ``append``, ``add``), its value a real callable
the pickle can name; then an opcode that uses that method (REDUCE, NEWOBJ,
BUILD, APPEND(S), SETITEM(S), ADDITEMS) on the value. Before the fix the
machine found the planted attribute on the instance and called it with
pickle-chosen arguments, bypassing the validating stand-in (``builtins.type``
ran as the real ``type(name, bases, dict)``) or the registry's call handler.

The real callable here is a class the application registered with a
validating ``call``/``new`` handler (the documented way to register real
code); calling the class itself writes a canary file. Each payload runs in a
child process; the canary must not exist afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import pickle_bytes as pb
from hypothesis import given, settings
from hypothesis import strategies as st

import emulpickle


# Values the pickle can make that accept attributes, each as pickle bytes
# that leave the value on the stack, and the options its load needs.
def _made(module: str, name: str) -> bytes:
    return pb.global_(module, name) + pb.EMPTY_TUPLE + pb.REDUCE


CARRIERS: dict[str, tuple[bytes, dict[str, str]]] = {
    "SimpleNamespace": (_made("types", "SimpleNamespace"), {}),
    "argparse.Namespace": (
        pb.global_("argparse", "Namespace") + pb.EMPTY_TUPLE + pb.NEWOBJ,
        {},
    ),
    "OrderedDict": (_made("collections", "OrderedDict"), {}),
    "Counter": (_made("collections", "Counter"), {}),
    "defaultdict": (_made("collections", "defaultdict"), {}),
    "GenericObject": (
        pb.global_("evil", "Thing") + pb.EMPTY_TUPLE + pb.REDUCE,
        {"unknown": "generic"},
    ),
    "GenericClass": (pb.global_("evil", "Thing"), {"unknown": "generic"}),
    "record": (pb.global_("app", "Record") + pb.EMPTY_TUPLE + pb.NEWOBJ, {}),
}  # fmt: skip

WRITER = pb.global_("app", "Writer")


def _state(name: str) -> bytes:
    """A BUILD state dict {name: app.Writer}; and the same as slot state."""
    return pb.EMPTY_DICT + pb.short_binunicode(name) + WRITER + pb.SETITEM


def _use(name: str) -> bytes:
    """Opcodes that use ``name`` on the carrier on top of the stack."""
    arg = pb.short_binunicode("CANARY")
    if name == "py_call":
        return arg + pb.TUPLE1 + pb.REDUCE
    if name == "py_new":
        return arg + pb.TUPLE1 + pb.NEWOBJ
    if name in ("py_setstate", "__setstate__", "py_dict_set"):
        return pb.EMPTY_DICT + arg + arg + pb.SETITEM + pb.BUILD
    if name == "py_setattr":
        return pb.NONE + pb.EMPTY_DICT + arg + arg + pb.SETITEM + pb.TUPLE2 + pb.BUILD
    if name in ("py_append", "append"):
        return arg + pb.APPEND
    if name == "extend":
        return pb.MARK + arg + arg + pb.APPENDS
    if name == "py_setitem":
        return arg + arg + pb.SETITEM
    if name in ("py_add", "add"):
        return pb.MARK + arg + pb.ADDITEMS
    if name == "__call__":
        return arg + pb.TUPLE1 + pb.REDUCE
    raise AssertionError(name)


# The emulation protocol methods, and the methods pickle's own rules call.
PLANTED = [
    *("py_call", "py_new", "py_setstate", "py_dict_set", "py_setattr"),
    *("py_append", "py_setitem", "py_add"),
    *("__setstate__", "__call__", "append", "extend", "add"),
]


def payload(carrier: str, name: str, *, slots: bool) -> bytes:
    make, _ = CARRIERS[carrier]
    state = _state(name)
    if slots:
        state = pb.NONE + state + pb.TUPLE2
    return pb.pk(make + state + pb.BUILD + _use(name), protocol=2)


CHILD = textwrap.dedent(
    """
    import dataclasses, json, os, sys
    import emulpickle

    canary = sys.argv[1]

    class Writer:
        # Real code: constructing one (or calling one) writes the canary.
        def __init__(self, *args, **kwargs):
            with open(canary, "w") as f:
                f.write("ran")
        def __call__(self, *args):
            Writer()

    def refuse(*args, **kwargs):
        raise emulpickle.EmulationError("app.Writer may not be made from a pickle")

    @dataclasses.dataclass
    class Record:
        x: int = 0

    reg = emulpickle.Registry(parent=emulpickle.default_registry())
    reg.register("app", "Writer", Writer, call=refuse, new=refuse)
    reg.register("app", "Record", Record)
    job = json.load(sys.stdin)
    ran = []
    for name, hexdata in job["payloads"]:
        try:
            emulpickle.loads(bytes.fromhex(hexdata), registry=reg, **job["options"])
        except emulpickle.UnpicklingError:
            pass
        if os.path.exists(canary):
            ran.append(name)
            os.remove(canary)
    print(json.dumps(ran))
    """
)


def _run(
    tmp_path: Path, payloads: dict[str, bytes], options: dict[str, str]
) -> list[str]:
    """Load each payload in one child process; the names whose canary appeared."""
    job = {
        "payloads": [[name, data.hex()] for name, data in payloads.items()],
        "options": options,
    }
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "canary")],
        input=json.dumps(job).encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    ran: list[str] = json.loads(proc.stdout)
    return ran


@pytest.mark.parametrize("slots", [False, True], ids=["dict-state", "slot-state"])
@pytest.mark.parametrize("carrier", sorted(CARRIERS))
def test_planted_methods_never_run(tmp_path: Path, carrier: str, slots: bool) -> None:
    """Every carrier x every planted name: the canary never appears."""
    payloads = {name: payload(carrier, name, slots=slots) for name in PLANTED}
    assert _run(tmp_path, payloads, CARRIERS[carrier][1]) == []


def test_the_child_would_notice(tmp_path: Path) -> None:
    """Control: a loader that calls app.Writer directly does write the canary."""
    reduce_writer = pb.pk(
        WRITER + pb.short_binunicode("x") + pb.TUPLE1 + pb.REDUCE, protocol=2
    )
    # With the handler bypassed (no call= handler), the same child sees it.
    child = CHILD.replace("call=refuse, new=refuse", "")
    proc = subprocess.run(
        [sys.executable, "-c", child, str(tmp_path / "canary")],
        input=json.dumps(
            {"payloads": [["direct", reduce_writer.hex()]], "options": {}}
        ).encode(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert json.loads(proc.stdout) == ["direct"]


def _namespace_with(name: str, value: bytes) -> bytes:
    return (
        pb.global_("types", "SimpleNamespace")
        + pb.EMPTY_TUPLE
        + pb.REDUCE
        + pb.EMPTY_DICT
        + pb.short_binunicode(name)
        + value
        + pb.SETITEM
        + pb.BUILD
    )


def test_planted_type_is_not_the_real_type() -> None:
    """The reported attack: ``builtins.type`` planted as py_call builds no class."""
    data = pb.pk(
        _namespace_with("py_call", pb.global_("builtins", "type"))
        + pb.short_binunicode("X")
        + pb.global_("builtins", "object")
        + pb.TUPLE1
        + pb.EMPTY_DICT
        + pb.TUPLE3
        + pb.REDUCE,
        protocol=2,
    )
    with pytest.raises(emulpickle.EmulationError, match="no emulator answers"):
        emulpickle.loads(data)


@pytest.mark.parametrize(
    "value",
    [
        pb.global_("builtins", "type"),
        pb.global_("builtins", "bytearray"),
        pb.global_("copyreg", "_reconstructor"),
        pb.global_("collections", "OrderedDict"),
    ],
    ids=["type", "bytearray", "reconstructor", "OrderedDict"],
)
def test_planted_builtins_are_data(value: bytes) -> None:
    """Planted values stay data: the namespace keeps them, nothing calls them."""
    data = pb.pk(_namespace_with("py_call", value), protocol=2)
    ns = emulpickle.loads(data)
    assert "py_call" in vars(ns)
    assert emulpickle.protocol_method(ns, "py_call") is None
    with pytest.raises(emulpickle.EmulationError):
        emulpickle.loads(
            pb.pk(
                _namespace_with("py_call", value) + pb.EMPTY_TUPLE + pb.REDUCE,
                protocol=2,
            )
        )


def test_values_made_by_the_load_are_not_callable() -> None:
    """A real class reached without the registry answering it is not called.

    ``type(x)`` is only emulated for singletons; here a pickle-made value of
    a real class reaches REDUCE directly (through a planted getattr-like
    route the registry does not answer), and must be refused, not called.
    """
    reg = emulpickle.Registry(parent=emulpickle.default_registry())
    made: list[object] = []

    class Maker:
        def py_call(self, *args: object) -> object:
            made.append(args)
            return os.system  # a real callable handed back by an emulator

    reg.register("app", "maker", Maker())
    data = pb.pk(
        pb.global_("app", "maker") + pb.EMPTY_TUPLE + pb.REDUCE
        + pb.short_binunicode("true") + pb.TUPLE1 + pb.REDUCE,
        protocol=2,
    )  # fmt: skip
    with pytest.raises(emulpickle.EmulationError, match="no emulator answers"):
        emulpickle.loads(data, registry=reg)
    assert made == [()]


def test_build_on_a_class_is_refused() -> None:
    """Slot state on a class would change it for every later load."""
    reg = emulpickle.Registry(parent=emulpickle.default_registry())

    class Maker:
        def py_call(self, *args: object) -> object:
            return dict  # a class an emulator hands back, not a global

    reg.register("app", "maker", Maker())
    data = pb.pk(
        pb.global_("app", "maker") + pb.EMPTY_TUPLE + pb.REDUCE
        + pb.NONE + pb.EMPTY_DICT + pb.short_binunicode("py_call")
        + pb.global_("builtins", "type") + pb.SETITEM + pb.TUPLE2 + pb.BUILD,
        protocol=2,
    )  # fmt: skip
    with pytest.raises(emulpickle.EmulationError):
        emulpickle.loads(data, registry=reg)
    assert "py_call" not in vars(dict)


@pytest.mark.parametrize("name", ["__class__", "__dict__", "__reduce__", "__getattr__"])
def test_dunder_slot_state_is_refused(name: str) -> None:
    data = pb.pk(
        pb.global_("types", "SimpleNamespace") + pb.EMPTY_TUPLE + pb.REDUCE
        + pb.NONE + pb.EMPTY_DICT + pb.short_binunicode(name)
        + pb.global_("argparse", "Namespace") + pb.SETITEM + pb.TUPLE2 + pb.BUILD,
        protocol=2,
    )  # fmt: skip
    with pytest.raises(emulpickle.EmulationError, match="dunder"):
        emulpickle.loads(data)


@pytest.mark.parametrize("name", ["__class__", "__setstate__", "__reduce__", "py_call"])
def test_dunder_dict_state_is_inert_data(name: str) -> None:
    """In the instance dict a dunder is data: the type and behaviour are unchanged."""
    data = pb.pk(_namespace_with(name, pb.global_("builtins", "type")), protocol=2)
    ns = emulpickle.loads(data)
    assert type(ns).__name__ == "SimpleNamespace"
    assert vars(ns)[name] is type


def test_instance_protocol_attributes_never_count() -> None:
    """protocol_method ignores instance attributes and slots, honours the class."""

    class Slotted:
        __slots__ = ("py_call",)

    class Declared:
        def py_call(self, *args: object) -> object:
            return args

    class Open:
        pass

    slotted, declared, opened = Slotted(), Declared(), Open()
    slotted.py_call = print  # type: ignore[attr-defined]
    opened.py_call = print  # type: ignore[attr-defined]
    assert emulpickle.protocol_method(slotted, "py_call") is None
    assert emulpickle.protocol_method(opened, "py_call") is None
    assert emulpickle.protocol_method(declared, "py_call")(1) == (1,)
    # A class answers only with its own classmethods / staticmethods.
    assert emulpickle.protocol_method(Declared, "py_call") is None


# ---------------------------------------------------------------- CPython parity
# Two places where emulpickle accepted what CPython refuses (security issue, 6).


def test_newobj_ex_refuses_none_kwargs_like_cpython() -> None:
    import pickle

    data = pb.pk(
        pb.global_("builtins", "object") + pb.EMPTY_TUPLE + pb.NONE + pb.NEWOBJ_EX,
        protocol=4,
    )
    with pytest.raises(pickle.UnpicklingError, match="kwargs argument must be a dict"):
        pickle.loads(data)
    with pytest.raises(
        emulpickle.UnpicklingError, match="kwargs argument must be a dict"
    ):
        emulpickle.loads(data)


@pytest.mark.parametrize("protocol", [6, 7, 255])
def test_unsupported_protocol_is_a_value_error_too(protocol: int) -> None:
    import pickle

    data = pb.pk(pb.NONE, protocol=protocol)
    with pytest.raises(ValueError, match=f"unsupported pickle protocol: {protocol}"):
        pickle.loads(data)
    with pytest.raises(
        ValueError, match=f"unsupported pickle protocol: {protocol}"
    ) as info:
        emulpickle.loads(data)
    assert isinstance(info.value, emulpickle.UnsupportedProtocolError)
    assert isinstance(info.value, emulpickle.UnpicklingError)
    assert info.value.opcode == "PROTO"


# ---------------------------------------------------------------- fuzzing

_NAMES = st.sampled_from(
    [*PLANTED, "__class__", "__dict__", "__reduce__", "__reduce_ex__", "__getattr__"]
) | st.text(max_size=8)
_VALUES = st.sampled_from(
    [
        WRITER,
        pb.global_("builtins", "type"),
        pb.global_("builtins", "bytearray"),
        pb.global_("copyreg", "_reconstructor"),
        pb.global_("collections", "OrderedDict"),
        pb.global_("builtins", "getattr"),
        pb.NONE,
    ]
)
_USES = st.sampled_from(PLANTED)


@settings(max_examples=300, deadline=None)
@given(
    carrier=st.sampled_from(sorted(CARRIERS)),
    plants=st.lists(st.tuples(_NAMES, _VALUES, st.booleans()), min_size=1, max_size=4),
    uses=st.lists(_USES, min_size=1, max_size=3),
)
def test_fuzz_planted_attributes(
    carrier: str, plants: list[tuple[str, bytes, bool]], uses: list[str]
) -> None:
    """Any mix of planted names and uses: loads or refuses; app code never runs."""
    calls: list[object] = []

    class Writer:
        def __init__(self, *args: object) -> None:
            calls.append(args)

    def refuse(*args: object) -> object:
        raise emulpickle.EmulationError("refused")

    reg = emulpickle.Registry(parent=emulpickle.default_registry())
    reg.register("app", "Writer", Writer, call=refuse, new=refuse)
    make, options = CARRIERS[carrier]
    body = make
    for name, value, slots in plants:
        state = pb.EMPTY_DICT + pb.short_binunicode(name) + value + pb.SETITEM
        if slots:
            state = pb.NONE + state + pb.TUPLE2
        body += state + pb.BUILD
    for use in uses:
        body += pb.DUP + _use(use) + pb.POP
    data = pb.pk(body, protocol=2)
    with contextlib.suppress(emulpickle.UnpicklingError):
        emulpickle.loads(data, registry=reg, unknown=options.get("unknown", "error"))
    assert calls == []
