"""Persistent ids (PERSID/BINPERSID): persistent_load as a callback, as a
method and on the constructor, and its exceptions.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import pytest
from helpers.strategies import assert_same, real_find_class, recording
from helpers.trusting import (
    PROTOCOLS,
    HookError,
    Plain,
    RealUnpickler,
    _opnames,
    _raiser,
)

import emulpickle


class Record:
    """Lives in an external 'database'; pickled by persistent id."""

    def __init__(self, key: str) -> None:
        self.key = key


DATABASE = {"k1": Record("k1"), "k2": Record("k2")}


class PidPickler(pickle.Pickler):
    def __init__(self, file: Any, protocol: int) -> None:
        super().__init__(file, protocol)
        self.text_pids = protocol == 0

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, Record):
            return obj.key if self.text_pids else ("record", obj.key)
        if obj == "int-pid-marker":
            return None if self.text_pids else 42
        return None


def _pid_pickle(protocol: int) -> bytes:
    f = io.BytesIO()
    PidPickler(f, protocol).dump(
        {
            "a": DATABASE["k1"],
            "b": [DATABASE["k2"], DATABASE["k1"]],
            "c": Plain(DATABASE["k2"]),
            "d": "int-pid-marker",
        }
    )
    return f.getvalue()


def _resolve(pid: Any) -> Any:
    if pid == 42:
        return "resolved-int-pid"
    return DATABASE[pid if isinstance(pid, str) else pid[1]]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_persistent_load_callback_and_method(protocol: int) -> None:
    data = _pid_pickle(protocol)
    assert ("PERSID" if protocol == 0 else "BINPERSID") in _opnames(data)

    pick_calls: list[Any] = []

    class PickleU(pickle.Unpickler):
        def persistent_load(self, pid: Any) -> Any:
            pick_calls.append(pid)
            return _resolve(pid)

    expected = PickleU(io.BytesIO(data)).load()
    assert expected["a"] is DATABASE["k1"] and expected["c"].a is DATABASE["k2"]

    calls: list[Any] = []
    got = emulpickle.loads(
        data, find_class=real_find_class, persistent_load=recording(_resolve, calls)
    )
    assert_same(expected, got)
    assert (
        got["a"] is DATABASE["k1"]
        and got["b"][1] is DATABASE["k1"]
        and got["c"].a is DATABASE["k2"]
    )
    assert [c[0] for c in calls] == pick_calls

    method_calls: list[Any] = []

    class EmulU(RealUnpickler):
        def persistent_load(self, pid: Any) -> Any:
            method_calls.append(pid)
            return _resolve(pid)

    got = EmulU(io.BytesIO(data)).load()
    assert_same(expected, got)
    assert method_calls == pick_calls


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_persistent_id_without_persistent_load_is_an_error(protocol: int) -> None:
    data = _pid_pickle(protocol)
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(data)
    with pytest.raises(pickle.UnpicklingError):
        emulpickle.loads(data, find_class=real_find_class)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_persistent_load_exception_propagates(protocol: int) -> None:
    data = _pid_pickle(protocol)
    err = HookError("from persistent_load")
    with pytest.raises(HookError) as info:
        emulpickle.loads(data, find_class=real_find_class, persistent_load=_raiser(err))
    assert info.value is err

    class U(RealUnpickler):
        def persistent_load(self, pid: Any) -> Any:
            raise err

    with pytest.raises(HookError) as info:
        U(io.BytesIO(data)).load()
    assert info.value is err


def test_hook_options_on_unpickler_constructor() -> None:
    data = _pid_pickle(2)
    u = emulpickle.Unpickler(
        io.BytesIO(data), find_class=real_find_class, persistent_load=_resolve
    )
    got = u.load()
    assert got["a"] is DATABASE["k1"] and got["d"] == "resolved-int-pid"
    assert type(got["c"]) is Plain
