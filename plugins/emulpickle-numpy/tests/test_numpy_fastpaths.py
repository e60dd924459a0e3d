"""The fast paths (``_fast``, compiled or not) against the fully checked ones.

Whatever the arguments, a fast path must do exactly what the checked path
does: return an equal result or raise the same kind of exception. And the
stand-ins for ``numpy.ndarray`` must stay invisible to the garbage collector.
"""

from __future__ import annotations

import gc
import os
import pickle
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from emulpickle_numpy import _arrays, _fastload
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy_helpers import REGISTRY, emulate

import emulpickle

FAST_MODULES: dict[str, ModuleType] = {"source": _fastload._source()}
if _fastload.compiled:
    FAST_MODULES["compiled"] = _fastload._module

SETTINGS = settings(max_examples=300, deadline=None)


#: Every test below runs on each: ``which`` names one.
BOTH = pytest.mark.parametrize("which", sorted(FAST_MODULES))


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        result = call()
    except Exception as exc:
        return ("raises", type(exc))
    return ("returns", result)


def array_facts(arr: Any, data: bool) -> Any:
    if not isinstance(arr, np.ndarray):
        return arr
    facts = (
        type(arr),
        arr.dtype,
        arr.dtype.str,
        arr.shape,
        arr.flags.c_contiguous,
        arr.flags.f_contiguous,
        arr.flags.writeable,
    )
    if not data:
        return facts
    return (*facts, arr.tolist() if arr.dtype.hasobject else arr.tobytes(order="A"))


def same_outcome(
    fast_call: Callable[[], Any], checked_call: Callable[[], Any], data: bool = True
) -> None:
    """Both return equal arrays (compared with their data unless the arrays
    are fresh from ``_reconstruct``, whose memory is not initialized), or both
    raise the same exception."""
    got = outcome(fast_call)
    want = outcome(checked_call)
    assert got[0] == want[0], (got, want)
    if got[0] == "raises":
        assert got[1] is want[1]
    else:
        assert array_facts(got[1], data) == array_facts(want[1], data)


DTYPE_CODES = ["f8", ">i4", "u1", "c16", "S3", "U2", "V3", "V0", "M8[s]", "O", "i4,f8"]


@st.composite
def dtypes(draw: st.DrawFn) -> Any:
    """A fresh dtype (as a pickle makes them), or something that is not one."""
    code = draw(st.sampled_from([*DTYPE_CODES, "not a dtype", None]))
    if code is None or code == "not a dtype":
        return code
    return np.dtype(code, copy=True)


@st.composite
def array_states(draw: st.DrawFn) -> tuple[Any, str]:
    """What numpy writes for a 1-d array (``(1, (n,), dtype, False, bytes)``),
    with at most one part of it changed, and the kind of object it is for."""
    dtype = draw(dtypes())
    count = draw(st.integers(0, 5))
    itemsize = dtype.itemsize if isinstance(dtype, np.dtype) else 4
    parts: list[Any] = [
        1,
        (count,),
        dtype,
        draw(st.booleans()),
        b"\x01" * (count * itemsize),
    ]
    change = draw(st.sampled_from(["nothing", "part", "part", "container", "target"]))
    target = "array"
    state: Any
    if change == "part":
        index = draw(st.integers(0, 4))
        others: list[list[Any]] = [
            [0, 7, True, "1", None],
            [(-1,), (2**62,), (True,), (1.0,), (count, 1), (), [count], "x"],
            [None, "f8", np.dtype("O", copy=True), np.dtype("V0", copy=True)],
            [0, 1, 2, None, "no"],
            [
                b"\x01" * (count * itemsize + 1),
                bytearray(count * itemsize),
                "\x01" * (count * itemsize),
                [None] * count,
            ],
        ]
        parts[index] = draw(st.sampled_from(others[index]))
    state = tuple(parts)
    if change == "container":
        state = draw(st.sampled_from([state[1:], list(state), state[:3], (*state, 0)]))
    elif change == "target":
        target = draw(st.sampled_from(["matrix", "other"]))
    return state, target


def make_target(kind: str) -> Any:
    if kind == "array":
        return np.empty(0, np.dtype("b"))
    if kind == "matrix":
        return np.ndarray.__new__(np.matrix, (0,), np.dtype("b"))
    return object()


@BOTH
@SETTINGS
@given(case=array_states())
def test_set_array_state_matches_checked(which: str, case: Any) -> None:
    fast = FAST_MODULES[which]
    state, target = case
    first, second = make_target(target), make_target(target)

    def run(setter: Callable[[Any, Any], None], arr: Any) -> Any:
        setter(arr, state)
        return arr

    same_outcome(
        lambda: run(fast.set_array_state, first),
        lambda: run(_arrays.set_array_state_checked, second),
    )


@BOTH
@SETTINGS
@given(
    dtype=dtypes(),
    data=st.sampled_from([b"\x00" * n for n in (0, 1, 3, 4, 8, 9, 16)] + ["ab", [1]]),
    rest=st.sampled_from([(), (None,)]),
    drop=st.booleans(),
)
def test_scalar_matches_checked(
    which: str, dtype: Any, data: Any, rest: tuple[Any, ...], drop: bool
) -> None:
    fast = FAST_MODULES[which]
    args = (dtype,) if drop else (dtype, data, *rest)
    same_outcome(
        lambda: fast.scalar(*args),
        lambda: _arrays.scalar_checked(
            dtype, _arrays.ABSENT if drop else data, () if drop else rest
        ),
    )


@BOTH
@SETTINGS
@given(
    subtype=st.sampled_from(["ndarray", "matrix", "forged", None]),
    shape=st.sampled_from([(0,), (False,), (0.0,), (0, 0), (), (3,), [0], (-1,)]),
    typestr=st.sampled_from([b"b", "b", b"f8", b"i3", 12, None]),
    rest=st.sampled_from([(), (None,)]),
)
def test_reconstruct_matches_checked(
    which: str, subtype: Any, shape: Any, typestr: Any, rest: tuple[Any, ...]
) -> None:
    fast = FAST_MODULES[which]
    sub = {"ndarray": _arrays.NDARRAY, "matrix": _arrays.MATRIX}.get(subtype, subtype)
    if sub == "forged":
        sub = "".join(["numpy.", "ndarray"])
    same_outcome(
        lambda: fast.reconstruct(sub, shape, typestr, *rest),
        lambda: _arrays.reconstruct_checked(sub, shape, typestr, rest),
        data=False,
    )


@BOTH
def test_missing_arguments_are_refused(which: str) -> None:
    fast = FAST_MODULES[which]
    with pytest.raises(emulpickle.EmulationError, match="expects"):
        fast.reconstruct(_arrays.NDARRAY, (0,))
    with pytest.raises(emulpickle.EmulationError, match="expects"):
        fast.scalar(np.dtype("f8", copy=True))


# --- numpy.ndarray and numpy.matrix ------------------------------------------


def glob(module: str, name: str) -> bytes:
    return (
        b"\x80\x04\x8c"
        + bytes([len(module)])
        + module.encode()
        + (b"\x8c" + bytes([len(name)]) + name.encode() + b"\x93")
    )


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("numpy", "ndarray"),
        ("numpy", "matrix"),
        ("numpy.matrixlib.defmatrix", "matrix"),
    ],
)
def test_array_classes_load_as_their_inert_names(module: str, name: str) -> None:
    got = emulate(glob(module, name) + b".")
    assert got == f"numpy.{name}"
    resolution = REGISTRY.resolve(module, name)
    assert resolution is not None and got is resolution.value
    # BUILD, NEWOBJ and REDUCE on it are refused
    for tail in [b"}b.", b")\x81.", b")R."]:
        with pytest.raises(emulpickle.EmulationError):
            emulate(glob(module, name) + tail)


def test_a_string_of_the_name_is_not_the_class() -> None:
    data = glob("numpy._core.multiarray", "_reconstruct") + (
        b"\x8c\x0dnumpy.ndarrayK\x00\x85C\x01b\x87R."
    )
    with pytest.raises(emulpickle.EmulationError, match="unsupported array class"):
        emulate(data)
    assert emulate(pickle.dumps(np.arange(3), 4)).tolist() == [0, 1, 2]


def test_reconstruct_arguments_can_be_untracked_by_the_collector() -> None:
    """numpy memoizes ``(ndarray, (0,), b"b")`` once per array: the collector
    must be able to stop tracking those tuples, as it does for the C
    unpickler's, or a load of many arrays triggers full collections."""
    resolution = REGISTRY.resolve("numpy", "ndarray")
    assert resolution is not None
    args = (resolution.value, (0,), b"b")
    gc.collect()
    assert not gc.is_tracked(args)


# --- choosing the compiled module ---------------------------------------------


def test_pure_environment_selects_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMULPICKLE_PURE", "1")
    module, compiled = _fastload._choose()
    assert not compiled
    assert module.__name__.endswith("._fast_source")
    assert module.__file__ == _fastload._SOURCE


def test_stamp_must_match_the_source(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = tmp_path / "_fast.py"
    stamp = tmp_path / "_fast.stamp"
    source.write_bytes(b"x = 1\n")

    def problem() -> str | None:
        return _fastload.stamp_problem(os.fspath(source), os.fspath(stamp), "_fast")

    assert problem() == "_fast.stamp is missing"
    stamp.write_text(f"{zlib.crc32(b'x = 1' + bytes([10])):08x} 6\n")
    assert problem() is None
    source.write_bytes(b"x = 2\n")
    assert problem() == "_fast.py changed since it was compiled"


@pytest.mark.skipif(not _fastload.compiled, reason="the fast paths are not compiled")
def test_stale_extension_is_not_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stamp = tmp_path / "_fast.stamp"
    stamp.write_text("00000000 0\n")
    monkeypatch.delenv("EMULPICKLE_PURE", raising=False)
    monkeypatch.setattr(_fastload, "_STAMP", os.fspath(stamp))
    with pytest.warns(RuntimeWarning, match="not using the compiled fast paths"):
        module, compiled = _fastload._choose()
    assert not compiled
    assert module.__name__.endswith("._fast_source")
