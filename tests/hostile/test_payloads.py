"""Hostile pickles: code execution, imports and memory bombs must never happen.

Every payload here would run a command, write a file or import a module under
CPython's ``pickle`` (a control test proves that for the file-writing ones, in
a child process). emulpickle must refuse them by default with a
ForbiddenGlobalError that names the global (after fix_imports mapping), and in
``unknown="generic"`` mode must build inert GenericObjects instead; in both
modes the marker file must not exist afterwards and no new module may be
imported.
"""

from __future__ import annotations

import contextlib
import copyreg
import io
import os
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import pickle_bytes as pb
from helpers.hostile_pickles import EXT_KEYS, PAYLOADS, S, U

import emulpickle


@pytest.fixture
def hostile_extensions() -> Iterator[None]:
    for code, (module, name) in EXT_KEYS.items():
        copyreg.add_extension(module, name, code)
    try:
        yield
    finally:
        for code, (module, name) in EXT_KEYS.items():
            copyreg.remove_extension(module, name, code)


PAYLOAD_IDS = list(PAYLOADS)


def _run_real_pickle(data: bytes, options: dict[str, Any], cwd: Path) -> None:
    """Feed ``data`` to CPython's real pickle in a child process."""
    script = (
        "import pickle, sys\n"
        "data = sys.stdin.buffer.read()\n"
        f"pickle.loads(data, **{options!r})\n"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        input=data,
        cwd=cwd,
        timeout=30,
        capture_output=True,
        check=False,
    )


@pytest.mark.parametrize("key", [k for k in PAYLOAD_IDS if PAYLOADS[k].creates_file])
def test_control_payload_really_is_hostile(
    key: str, tmp_path: Path, hostile_extensions: None
) -> None:
    """Under CPython's pickle the payload does write the marker file.

    (The EXT payloads need the copyreg registrations in the child too.)
    """
    payload = PAYLOADS[key]
    marker = tmp_path / "pwned"
    data = payload.build(str(marker))
    if payload.opcode.startswith("EXT"):
        regs = "".join(
            f"copyreg.add_extension({m!r}, {n!r}, {c})\n"
            for c, (m, n) in EXT_KEYS.items()
        )
        script = (
            "import copyreg, pickle, sys\n"
            + regs
            + "pickle.loads(sys.stdin.buffer.read())\n"
        )
        subprocess.run(
            [sys.executable, "-c", script],
            input=data,
            timeout=30,
            capture_output=True,
            check=False,
        )
    else:
        _run_real_pickle(data, payload.options, tmp_path)
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists()


@pytest.fixture
def no_new_modules() -> Iterator[None]:
    before = set(sys.modules)
    yield
    new = {
        m
        for m in set(sys.modules) - before
        if not m.startswith(("emulpickle", "encodings"))
    }
    assert new == set(), f"loading imported {sorted(new)}"


@pytest.mark.parametrize("key", PAYLOAD_IDS)
def test_refused_by_default(
    key: str, tmp_path: Path, hostile_extensions: None, no_new_modules: None
) -> None:
    payload = PAYLOADS[key]
    marker = tmp_path / "pwned"
    data = payload.build(str(marker))
    for load in (
        lambda: emulpickle.loads(data, **payload.options),
        lambda: emulpickle.load(io.BytesIO(data), **payload.options),
    ):
        with pytest.raises(emulpickle.ForbiddenGlobalError) as info:
            load()
        err = info.value
        assert (err.module, err.name) == (payload.module, payload.name)
        assert err.opcode == payload.opcode
        assert isinstance(err, emulpickle.UnpicklingError)
        assert f"'{payload.module}.{payload.name}'" in str(err)
    assert not marker.exists()


@pytest.mark.parametrize("key", PAYLOAD_IDS)
def test_generic_mode_runs_nothing(
    key: str, tmp_path: Path, hostile_extensions: None, no_new_modules: None
) -> None:
    payload = PAYLOADS[key]
    marker = tmp_path / "pwned"
    data = payload.build(str(marker))
    try:
        result = emulpickle.loads(data, unknown="generic", **payload.options)
    except emulpickle.UnpicklingError as e:
        # acceptable only for chains that call the *result* of a generic call
        assert not isinstance(e, emulpickle.ForbiddenGlobalError), e
        result = None
    time.sleep(0.05)
    assert not marker.exists()
    if result is not None:
        assert isinstance(result, (emulpickle.GenericObject, emulpickle.GenericClass))


@pytest.mark.parametrize(
    ("key", "module", "name", "args"),
    [
        ("os.system-GLOBAL", "os", "system", ("touch MARK",)),
        ("os.system-STACK_GLOBAL-memoized-names", "os", "system", ("touch MARK",)),
        ("os.system-INST", "os", "system", ("touch MARK",)),
        ("os.system-OBJ", "os", "system", ("touch MARK",)),
        ("os.system-EXT1", "os", "system", ("touch MARK",)),
        ("posix.system-EXT2", "posix", "system", ("touch MARK",)),
        ("subprocess.call-EXT4", "subprocess", "call", (["touch", "MARK"],)),
        ("builtins.exec", "builtins", "exec", ("open('MARK', 'w').close()",)),
        ("builtins.open", "builtins", "open", ("MARK", "w")),
        ("commands.getoutput-py2-mapped", "subprocess", "getoutput", ("touch MARK",)),
    ],
)
def test_generic_mode_builds_generic_objects(
    key: str, module: str, name: str, args: tuple[Any, ...], hostile_extensions: None
) -> None:
    data = PAYLOADS[key].build("MARK")
    obj = emulpickle.loads(data, unknown="generic", **PAYLOADS[key].options)
    assert isinstance(obj, emulpickle.GenericObject)
    assert isinstance(obj.cls, emulpickle.GenericClass)
    assert (obj.cls.module, obj.cls.name) == (module, name)
    assert tuple(obj.args) == args
    assert not Path("MARK").exists()


def test_forbidden_message_format() -> None:
    with pytest.raises(emulpickle.ForbiddenGlobalError) as info:
        emulpickle.loads(b"\x80\x02cos\nsystem\nK\x01\x85R.")
    err = info.value
    assert (err.offset, err.opcode) == (2, "GLOBAL")
    assert str(err) == (
        "global 'os.system' is not allowed (GLOBAL at offset 2); "
        'register an emulator or pass unknown="generic"'
    )


def test_forbidden_offset_of_nested_global() -> None:
    data = b"ccopy_reg\n_reconstructor\n(cos\nsystem\nNNtR."
    with pytest.raises(emulpickle.ForbiddenGlobalError) as info:
        emulpickle.loads(data)
    assert info.value.offset == data.index(b"cos")


def test_stack_global_with_bytes_names_under_encoding_bytes() -> None:
    # encoding="bytes" makes py2 strings bytes, which STACK_GLOBAL must reject
    data = b"\x80\x02U\x02osU\x06system\x93N\x85R."
    with pytest.raises(emulpickle.UnpicklingError) as info:
        emulpickle.loads(data, encoding="bytes", unknown="generic")
    assert info.value.opcode == "STACK_GLOBAL"


# ---- importing a module named by the pickle is never attempted --------------

PROBE = "emulpickle_probe_mod_7f3a"


@pytest.fixture
def probe_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    marker = tmp_path / "imported"
    (tmp_path / f"{PROBE}.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "def run(*a, **k):\n"
        f"    open({str(marker) + '.ran'!r}, 'w').close()\n"
        "class Thing:\n"
        "    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, PROBE, raising=False)
    return marker


PROBE_PICKLES = {
    "GLOBAL": f"c{PROBE}\nrun\n)R.".encode(),
    "STACK_GLOBAL": b"\x80\x04" + S(PROBE) + S("run") + b"\x93)R.",
    "INST": f"(K\x01i{PROBE}\nrun\n.".encode(),
    "OBJ": f"(c{PROBE}\nThing\no.".encode(),
    "NEWOBJ": f"\x80\x02c{PROBE}\nThing\n)\x81.".encode("latin1"),
    "NEWOBJ_EX": f"\x80\x04c{PROBE}\nThing\n)}}\x92.".encode("latin1"),
    "dotted": b"\x80\x04" + S(PROBE) + S("Thing.__init__") + b"\x93.",
}


def test_probe_module_control(probe_module: Path, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import pickle,sys; pickle.loads(sys.stdin.buffer.read())",
        ],
        input=PROBE_PICKLES["GLOBAL"],
        env=env,
        timeout=30,
        capture_output=True,
        check=False,
    )
    assert probe_module.exists()
    assert Path(str(probe_module) + ".ran").exists()


@pytest.mark.parametrize("unknown", ["error", "generic"])
@pytest.mark.parametrize("kind", list(PROBE_PICKLES))
def test_named_module_is_never_imported(
    kind: str, unknown: str, probe_module: Path
) -> None:
    data = PROBE_PICKLES[kind]
    if unknown == "error":
        with pytest.raises(emulpickle.ForbiddenGlobalError) as info:
            emulpickle.loads(data)
        assert info.value.module == PROBE
    else:
        try:
            emulpickle.loads(data, unknown="generic")
        except emulpickle.UnpicklingError as e:
            assert not isinstance(e, emulpickle.ForbiddenGlobalError)
    assert PROBE not in sys.modules
    assert not probe_module.exists()
    assert not Path(str(probe_module) + ".ran").exists()


# ---- BUILD / setters cannot tamper with shared emulators --------------------

SHARED_GLOBALS = [
    ("copyreg", "_reconstructor"),
    ("copyreg", "__newobj__"),
    ("copyreg", "__newobj_ex__"),
    ("_codecs", "encode"),
    ("builtins", "int"),
    ("builtins", "list"),
]


def _snapshot(obj: Any) -> Any:
    return (
        dict(getattr(obj, "__dict__", {}) or {}),
        getattr(obj, "__defaults__", None),
        getattr(obj, "__kwdefaults__", None),
    )


@pytest.fixture
def restore_emulators() -> Iterator[None]:
    """Undo whatever a failing test managed to change, so failures don't cascade."""
    saved = []
    for module, name in SHARED_GLOBALS:
        obj = emulpickle.loads(pb.global_(module, name) + b".")
        if isinstance(obj, types.FunctionType):
            saved.append(
                (
                    obj,
                    dict(obj.__dict__),
                    obj.__defaults__,
                    obj.__kwdefaults__,
                    obj.__qualname__,
                )
            )
    yield
    for obj, dct, defaults, kwdefaults, qualname in saved:
        obj.__dict__.clear()
        obj.__dict__.update(dct)
        obj.__defaults__ = defaults
        obj.__kwdefaults__ = kwdefaults
        obj.__qualname__ = qualname


@pytest.mark.usefixtures("restore_emulators")
@pytest.mark.parametrize(("module", "name"), SHARED_GLOBALS)
@pytest.mark.parametrize(
    "state",
    [
        pytest.param(b"}" + U("injected") + b"K\x01s", id="dict-state"),
        pytest.param(
            b"N}" + U("__defaults__") + b"(K\x01K\x02ts\x86", id="slot-defaults"
        ),
        pytest.param(b"N}" + U("__kwdefaults__") + b"}s\x86", id="slot-kwdefaults"),
        pytest.param(b"N}" + U("__qualname__") + U("x") + b"s\x86", id="slot-qualname"),
    ],
)
def test_build_cannot_mutate_shared_emulators(
    module: str, name: str, state: bytes
) -> None:
    ref = pb.global_(module, name)
    before = _snapshot(emulpickle.loads(ref + b"."))
    with contextlib.suppress(emulpickle.UnpicklingError):
        emulpickle.loads(ref + state + b"b.")
    after = emulpickle.loads(ref + b".")
    assert _snapshot(after) == before
    assert getattr(after, "__qualname__", None) != "x"


def test_generic_build_state_is_data_only() -> None:
    state = b"(" + U("__class__") + U("x") + U("__dict__") + U("y") + b"d"
    obj = emulpickle.loads(
        b"\x80\x02cmypkg\nThing\n)\x81" + state + b"b.", unknown="generic"
    )
    assert type(obj) is emulpickle.GenericObject
    assert obj.state == {"__class__": "x", "__dict__": "y"}


def test_generic_classes_do_not_leak_between_loads() -> None:
    data = b"\x80\x02cmypkg\nThing\nN}" + U("evil") + b"K\x01s\x86b."
    with contextlib.suppress(emulpickle.UnpicklingError):
        emulpickle.loads(data, unknown="generic")
    fresh = emulpickle.loads(b"cmypkg\nThing\n.", unknown="generic")
    assert not hasattr(fresh, "evil")
    assert not hasattr(emulpickle.GenericClass, "evil")


# ---- builtins.type with three arguments (class creation) -------------------

TYPE3 = b"(" + U("Evil") + b")(" + U("__reduce__") + b"Nd" + b"t"

TYPE_CREATORS = {
    "REDUCE": b"cbuiltins\ntype\n" + TYPE3 + b"R.",
    "REDUCE-py2-name": b"c__builtin__\ntype\n" + TYPE3 + b"R.",
    "NEWOBJ": b"\x80\x02cbuiltins\ntype\n" + TYPE3 + b"\x81.",
    "NEWOBJ_EX": b"\x80\x04cbuiltins\ntype\n" + TYPE3 + b"}\x92.",
    "copyreg.__newobj__": b"\x80\x02ccopyreg\n__newobj__\n(cbuiltins\ntype\n"
    + U("Evil")
    + b")}tR.",
    "copyreg.__newobj_ex__": b"\x80\x02ccopyreg\n__newobj_ex__\n(cbuiltins\ntype\n"
    + b"("
    + U("Evil")
    + b")}t}tR.",
    "INST": b"(" + U("Evil") + b")}ibuiltins\ntype\n.",
    "OBJ": b"(cbuiltins\ntype\n" + U("Evil") + b")}o.",
    "STACK_GLOBAL": b"\x80\x04" + S("builtins") + S("type") + b"\x93" + TYPE3 + b"R.",
}


@pytest.mark.parametrize("key", list(TYPE_CREATORS))
@pytest.mark.parametrize("unknown", ["error", "generic"])
def test_type_with_three_args_refused(key: str, unknown: str) -> None:
    with pytest.raises(emulpickle.UnpicklingError) as info:
        emulpickle.loads(TYPE_CREATORS[key], unknown=unknown)
    assert isinstance(
        info.value, (emulpickle.EmulationError, emulpickle.ForbiddenGlobalError)
    )


def test_type_with_one_arg_still_allowed() -> None:
    assert emulpickle.loads(b"cbuiltins\ntype\nN\x85R.") is type(None)


# ---- memory bombs through emulators: refused quickly -------------------------

BIG = 10**12


def L(n: int) -> bytes:
    return pb.long1(n)


ALLOC_BOMBS = {
    "bytearray-REDUCE": b"\x80\x02cbuiltins\nbytearray\n" + L(BIG) + b"\x85R.",
    "bytes-REDUCE": b"\x80\x02cbuiltins\nbytes\n" + L(BIG) + b"\x85R.",
    "bytearray-py2-proto0": b"c__builtin__\nbytearray\n(L1000000000000L\ntR.",
    "bytes-NEWOBJ": b"\x80\x02cbuiltins\nbytes\n" + L(BIG) + b"\x85\x81.",
    "bytes-NEWOBJ_EX": b"\x80\x04cbuiltins\nbytes\n" + L(BIG) + b"\x85}\x92.",
    "bytes-copyreg.__newobj__": b"\x80\x02ccopyreg\n__newobj__\ncbuiltins\nbytes\n"
    + L(BIG)
    + b"\x86R.",
    "bytearray-INST": b"(" + L(BIG) + b"ibuiltins\nbytearray\n.",
    "bytearray-OBJ": b"(cbuiltins\nbytearray\n" + L(BIG) + b"o.",
    "bytes-BININT-2GiB": b"\x80\x02cbuiltins\nbytes\nJ\xff\xff\xff\x7f\x85R.",
    "list-range": b"\x80\x02cbuiltins\nlist\ncbuiltins\nrange\n"
    + L(BIG)
    + b"\x85R\x85R.",
    "tuple-range": b"\x80\x02cbuiltins\ntuple\ncbuiltins\nrange\n"
    + L(BIG)
    + b"\x85R\x85R.",
    "set-range": b"\x80\x02cbuiltins\nset\ncbuiltins\nrange\n"
    + L(BIG)
    + b"\x85R\x85R.",
    "frozenset-range": b"\x80\x02cbuiltins\nfrozenset\ncbuiltins\nrange\n"
    + L(BIG)
    + b"\x85R\x85R.",
    "bytes-range": b"\x80\x02cbuiltins\nbytes\ncbuiltins\nrange\n"
    + L(BIG)
    + b"\x85R\x85R.",
    "bytearray-range": b"\x80\x02cbuiltins\nbytearray\ncbuiltins\nrange\n"
    + L(BIG)
    + b"\x85R\x85R.",
    "list-xrange-py2": b"\x80\x02c__builtin__\nlist\nc__builtin__\nxrange\n"
    + L(BIG)
    + b"\x85R\x85R.",
    "copyreg._reconstructor-list-range": b"\x80\x02ccopy_reg\n_reconstructor\n"
    b"(cbuiltins\nlist\ncbuiltins\nlist\ncbuiltins\nrange\n" + L(BIG) + b"\x85RtR.",
}


@pytest.mark.parametrize("key", list(ALLOC_BOMBS))
@pytest.mark.parametrize("unknown", ["error", "generic"])
def test_allocation_bombs_refused_quickly(key: str, unknown: str) -> None:
    start = time.perf_counter()
    with pytest.raises(emulpickle.UnpicklingError) as info:
        emulpickle.loads(ALLOC_BOMBS[key], unknown=unknown)
    elapsed = time.perf_counter() - start
    assert isinstance(
        info.value, (emulpickle.EmulationError, emulpickle.LimitExceededError)
    )
    if isinstance(info.value, emulpickle.LimitExceededError):
        assert info.value.limit == "max_emulator_alloc"
    assert elapsed < 1.0


def test_allocation_within_limit_is_fine() -> None:
    data = b"\x80\x02cbuiltins\nbytearray\nM\x00\x10\x85R."
    assert emulpickle.loads(data) == bytearray(4096)


def test_allocation_limit_is_configurable() -> None:
    data = b"\x80\x02cbuiltins\nbytearray\nM\x00\x10\x85R."
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.loads(data, limits=emulpickle.Limits(max_emulator_alloc=1000))
    assert info.value.limit == "max_emulator_alloc"


def test_negative_size_refused() -> None:
    with pytest.raises(emulpickle.EmulationError):
        emulpickle.loads(b"\x80\x02cbuiltins\nbytes\n" + L(-1) + b"\x85R.")
