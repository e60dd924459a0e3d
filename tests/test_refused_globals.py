"""A load refused for unknown globals names all of them at once.

A user who registers their classes should not discover them one error at a
time (Config, then Mode, then Point): ``ForbiddenGlobalError.disallowed``
and the message list every global the pickle names that the registry does
not answer. Hostile pickles (a million globals, names computed from the
memo, a payload after the refused global) run in a child process.
"""

from __future__ import annotations

import copyreg
import dataclasses
import enum
import io
import pickle
import pickletools
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import pickle_bytes as pb
from helpers.render_harness import Case, check_case, run_cases

import emulpickle
from emulpickle.unpickler import MAX_DISALLOWED

MOD = __name__


class Mode(enum.Enum):
    FAST = 1


@dataclasses.dataclass
class Point:
    x: int
    y: int


@dataclasses.dataclass
class Config:
    lr: float
    mode: Mode
    points: list[Point]


CONFIG = Config(0.1, Mode.FAST, [Point(1, 2), Point(3, 4)])
NAMES = ((MOD, "Config"), (MOD, "Mode"), (MOD, "Point"))


def _first_global(data: bytes) -> tuple[int, str]:
    """Offset and opcode of the first opcode that names one of NAMES."""
    strings: list[str] = []
    for op, arg, pos in pickletools.genops(data):
        if isinstance(arg, str):
            strings.append(arg)
        if op.name in ("GLOBAL", "INST") and arg.split(" ")[1] in ("Config", "Mode"):
            return pos, op.name
        if op.name == "STACK_GLOBAL" and strings[-1] in ("Config", "Mode"):
            return pos, op.name
    raise AssertionError("no global of this module")


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_one_error_names_every_refused_global(protocol: int) -> None:
    data = pickle.dumps(CONFIG, protocol=protocol)
    with pytest.raises(emulpickle.ForbiddenGlobalError) as info:
        emulpickle.loads(data)
    error = info.value
    assert error.disallowed == NAMES
    assert (error.module, error.name) == NAMES[0]
    assert (error.offset, error.opcode) == _first_global(data)
    message = str(error)
    assert message == (
        f"global '{MOD}.Config' is not allowed ({error.opcode} at offset "
        f"{error.offset}); the pickle also names 2 more globals that are not "
        f"allowed: '{MOD}.Mode', '{MOD}.Point'; register emulators or pass "
        'unknown="generic"'
    )
    # From a file object (seekable or not) the same.
    for stream in (io.BytesIO(data), _Unseekable(data)):
        with pytest.raises(emulpickle.ForbiddenGlobalError) as again:
            emulpickle.load(stream)
        assert again.value.disallowed == NAMES
        assert str(again.value) == message


class _Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        return self._data.readinto(buffer)


def test_registering_what_the_error_lists_is_enough() -> None:
    data = pickle.dumps([CONFIG, Point(5, 6)], protocol=4)
    registry = emulpickle.Registry(parent=emulpickle.default_registry())
    registry.register(MOD, "Config", Config)
    registry.register(MOD, "Point", Point)
    with pytest.raises(emulpickle.ForbiddenGlobalError) as info:
        emulpickle.loads(data, registry=registry)
    assert info.value.disallowed == ((MOD, "Mode"),)
    assert str(info.value).endswith('register an emulator or pass unknown="generic"')


def test_the_message_a_user_sees(tmp_path: Path) -> None:
    """As a script loading the file shows it (the command line loads with
    unknown globals as generic placeholders, so it refuses none)."""
    path = tmp_path / "config.pkl"
    path.write_bytes(pickle.dumps(CONFIG))
    script = "import emulpickle, sys; emulpickle.load(open(sys.argv[1], 'rb'))"
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).parent,
    )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("emulpickle.errors.ForbiddenGlobalError: global ")
    for module, name in NAMES:
        assert f"'{module}.{name}'" in last


def test_a_find_class_of_ones_own_decides() -> None:
    """A caller's find_class (hook or override) is asked as before: its
    error ends the load at once."""
    data = pickle.dumps(CONFIG, protocol=4)
    asked: list[str] = []

    def refuse(module: str, name: str) -> object:
        asked.append(name)
        raise emulpickle.ForbiddenGlobalError(module, name)

    with pytest.raises(emulpickle.ForbiddenGlobalError) as info:
        emulpickle.loads(data, find_class=refuse)
    assert asked == ["Config"]
    assert info.value.disallowed == (NAMES[0],)


def test_a_refused_extension_stays_refused() -> None:
    """A stand-in for a refused EXT global never answers a later load."""
    copyreg.add_extension(MOD, "Point", 0xE7)
    try:
        one = pb.pk(pb.ext(0xE7), pb.global_(MOD, "Mode"), pb.TUPLE2, protocol=2)
        unpickler = emulpickle.Unpickler(io.BytesIO(one + one))
        for _ in range(2):
            with pytest.raises(emulpickle.ForbiddenGlobalError) as info:
                unpickler.load()
            assert info.value.disallowed == ((MOD, "Point"), (MOD, "Mode"))
            assert info.value.opcode == "EXT1"
    finally:
        copyreg.remove_extension(MOD, "Point", 0xE7)


def test_what_stops_the_load_later_is_said() -> None:
    """A refused global, another, then an error: the refusal is reported,
    with a word that the list may be incomplete."""
    data = pb.pk(
        pb.global_("m", "A"),
        pb.global_("m", "B"),
        pb.global_("builtins", "bytearray"),
        pb.MARK,
        pb.binint(-1),
        pb.TUPLE,
        pb.REDUCE,
        pb.global_("m", "C"),
        protocol=2,
    )
    with pytest.raises(emulpickle.ForbiddenGlobalError) as info:
        emulpickle.loads(data)
    assert info.value.disallowed == (("m", "A"), ("m", "B"))
    assert "(the load stopped there: there may be more)" in str(info.value)


# ------------------------------------------------------------- hostile


def _many_globals(count: int) -> bytes:
    """``count`` distinct GLOBALs, each popped."""
    return pb.pk(
        *(pb.global_("m", f"N{i}") + pb.POP for i in range(count)),
        pb.NONE,
        protocol=2,
    )


def _names_from_memo(count: int) -> bytes:
    """``count`` module names and ``count`` names memoized once, then every
    pairing of them fetched back (LONG_BINGET) for a STACK_GLOBAL."""
    strings = [pb.short_binunicode(f"m{i}") + pb.MEMOIZE for i in range(count)]
    strings += [pb.short_binunicode(f"n{i}") + pb.MEMOIZE for i in range(count)]
    pairs = (
        pb.long_binget(i) + pb.long_binget(count + j) + pb.STACK_GLOBAL + pb.POP
        for i in range(count)
        for j in range(count)
    )
    return pb.pk(*strings, *pairs, pb.NONE, protocol=4)


def _same_name_from_memo(count: int) -> bytes:
    """One refused global, named ``count`` times from the memo."""
    head = pb.short_binunicode("m") + pb.MEMOIZE + pb.short_binunicode("X")
    head += pb.MEMOIZE + pb.POP + pb.POP
    call = pb.binget(0) + pb.binget(1) + pb.STACK_GLOBAL + pb.POP
    return pb.pk(head, call * count, pb.NONE, protocol=4)


def _payload(canary: Path) -> bytes:
    """A refused global, then ``os.system("touch CANARY")``, then a shared
    DAG handed to the refused global's stand-in."""
    dag = pb.NONE + (pb.DUP + pb.TUPLE2) * 40
    return pb.pk(
        pb.global_("m", "Refused"),
        pb.global_("os", "system"),
        pb.MARK,
        pb.short_binunicode(f"touch {canary}"),
        pb.TUPLE,
        pb.REDUCE,
        pb.TUPLE1,
        dag,
        pb.TUPLE2,
        pb.REDUCE,
        protocol=4,
    )


SETUP = r"""
import emulpickle

def load(path):
    with open(path, "rb") as f:
        return str(emulpickle.load(f))

ACTIONS = {"load": load}
"""


def test_hostile_pickles_are_refused_in_bounded_work(tmp_path: Path) -> None:
    canary = tmp_path / "canary"  # run_cases gives the child this path
    more = MAX_DISALLOWED - 11
    cases = {
        "million-globals": Case(
            _many_globals(1_000_000),
            "load",
            "error",
            ("'m.N0' is not allowed", f"'m.N10' and {more} more", "may be more"),
        ),
        "names-from-memo": Case(
            _names_from_memo(40),
            "load",
            "error",
            ("'m0.n0' is not allowed", f"and {more} more", "may be more"),
        ),
        "same-name-from-memo": Case(
            _same_name_from_memo(1_000_000),
            "load",
            "error",
            "global 'm.X' is not allowed (STACK_GLOBAL at offset ",
        ),
        "payload": Case(
            _payload(canary),
            "load",
            "error",
            (
                "global 'm.Refused' is not allowed (GLOBAL at offset 2); the pickle "
                "also names 1 more global that is not allowed: 'os.system';",
            ),
        ),
    }
    reports, child_canary = run_cases(tmp_path, SETUP, cases)
    assert child_canary == canary
    for name, case in cases.items():
        check_case(name, case, reports)
    assert not canary.exists()
