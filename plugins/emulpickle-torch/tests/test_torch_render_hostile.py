"""Hostile values in the torch plugin's messages and reprs stay short and fast.

Every check of the zip, legacy-stream and legacy-tar loaders and of the
emulators that names a rejected, pickle-chosen value is given a tuple shared
2**40 times, a list nested 200,000 deep, an int of eight million bits and a
cyclic list (where the check takes that kind of value). The load must fail
with an ``emulpickle.UnpicklingError`` whose short message says what was
wrong; before, the message rendered every path of the DAG, or ``str()``
refused the int and a ``ValueError`` escaped the persistent-id hooks. Also:
tensor reprs with huge sizes or device strings, and ``emulpickle convert``
of state dicts keyed by shared tuples. The cases run in one child process
(see ``tests/helpers/render_harness``).
"""

from __future__ import annotations

from typing import Any

import pytest
from emulpickle_torch import MAGIC_NUMBER
from helpers.render_harness import (
    HOSTILE,
    Case,
    check_case,
    dag,
    pickle_of,
    run_cases,
    with_cycle_mark,
)
from torch_ckpt_helpers import (
    TAR_DATA,
    p_call,
    p_global,
    p_int,
    p_list,
    p_str,
    p_tuple,
    sys_info,
    tar_checkpoint,
    tar_storages,
    tar_tensors,
    zip_bytes,
)

SETUP = r"""
import contextlib, io
import emulpickle
import emulpickle_torch as et
from emulpickle import cli

def run_cli(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return f"exit={code}\n" + out.getvalue() + err.getvalue()

ACTIONS = {
    "load": lambda path: str(type(et.load(path))),
    "repr": lambda path: repr(et.load(path)),
    "convert": lambda path: run_cli("convert", path, path + ".safetensors"),
}
"""

FLOAT_STORAGE = p_global("torch", "FloatStorage")
FLOAT32 = p_global("torch", "float32")
NONE, FALSE = b"N", b"\x89"
#: A hashable DAG that passes the key checks (2**20 paths) and a huge int.
KEY_DAG = dag(20)


def _zip(body: bytes) -> bytes:
    """A zip checkpoint whose data.pkl is ``body``, with storage "0" (16 bytes)."""
    return zip_bytes(
        {
            "archive/data.pkl": pickle_of(body),
            "archive/byteorder": b"little",
            "archive/data/0": bytes(16),
        }
    )


def _pid(*fields: bytes) -> bytes:
    return p_tuple(*fields) + b"Q"


def _storage_pid(
    typename: bytes = p_str("storage"),
    storage_type: bytes = FLOAT_STORAGE,
    key: bytes = p_str("0"),
    location: bytes = p_str("cpu"),
    numel: bytes = p_int(4),
) -> bytes:
    return _pid(typename, storage_type, key, location, numel)


def _legacy(body: bytes, protocol: bytes = p_int(1001)) -> bytes:
    """A legacy stream: magic, protocol, sys_info, then ``body``'s pickle."""
    return (
        pickle_of(p_int(MAGIC_NUMBER))
        + pickle_of(protocol)
        + pickle_of(b"}")
        + pickle_of(body)
    )


def _legacy_pid(*fields: bytes) -> bytes:
    return _pid(
        p_str("storage"), FLOAT_STORAGE, p_str("0"), p_str("cpu"), p_int(4), *fields
    )


def _tar(**members: bytes) -> bytes:
    parts = {
        "sys_info": sys_info(),
        "pickle": pickle_of(b"}" + p_str("t") + p_str("2") + b"Q" + b"s"),
        "tensors": tar_tensors([(2, 1, (4,), (1,), 0)]),
        "storages": tar_storages([(1, "FloatStorage", 4, TAR_DATA)]),
    }
    parts.update(members)
    return tar_checkpoint(parts)


def _tar_storages(*pickles: bytes) -> bytes:
    return b"".join(pickle_of(p) for p in pickles)


def _rebuild(name: str, *args: bytes) -> bytes:
    return p_call(p_global("torch._utils", name), *args)


def _tensor_v2(metadata: bytes) -> bytes:
    return _rebuild(
        "_rebuild_tensor_v2",
        _storage_pid(),
        p_int(0),
        p_tuple(p_int(4)),
        p_tuple(p_int(1)),
        FALSE,
        NONE,
        metadata,
    )


def _error_cases(value: bytes, kind: str) -> dict[str, tuple[bytes, str]]:
    """Files that give ``value`` to one check each, and what it reports."""
    cases = {
        # zip format: the persistent id and each of its fields
        "zip-pid": (_zip(value + b"Q"), "unexpected persistent id"),
        "zip-pid-typename": (_zip(_storage_pid(typename=value)), "persistent id type"),
        "zip-storage-type": (_zip(_storage_pid(storage_type=value)), "storage type"),
        "zip-storage-key": (_zip(_storage_pid(key=value)), "unsafe storage key"),
        "zip-location": (_zip(_storage_pid(location=value)), "bad storage location"),
        "zip-numel": (_zip(_storage_pid(numel=value)), "bad storage size"),
        # legacy stream format
        "legacy-protocol": (_legacy(NONE, protocol=value), "legacy protocol version"),
        "legacy-pid": (_legacy(value + b"Q"), "unexpected persistent id"),
        "legacy-view": (_legacy(_legacy_pid(value)), "bad storage view"),
        "legacy-view-offset": (
            _legacy(_legacy_pid(p_tuple(p_str("v"), value, p_int(1)))),
            "exceeds storage" if kind == "bigint" else "bad storage view",
        ),
        # legacy tar format
        "tar-pid": (
            _tar(pickle=pickle_of(p_list(value) + b"Q")),
            "unexpected persistent id",
        ),
        "tar-storage-count": (_tar(storages=pickle_of(value)), "bad storage count"),
        "tar-storage-record": (
            _tar(storages=_tar_storages(p_int(1), value)),
            "bad storage record",
        ),
        "tar-storage-key": (
            _tar(
                storages=_tar_storages(
                    p_int(1), p_tuple(value, p_str("cpu"), FLOAT_STORAGE)
                )
            ),
            "storage key must be a 64-bit int",
        ),
        "tar-view": (
            _tar(storages=_tar_storages(p_int(0), p_list(value))),
            "bad storage view",
        ),
        # emulators
        "dtype": (
            pickle_of(_rebuild("_rebuild_tensor_v3", *[NONE] * 6, value)),
            "must be a torch dtype",
        ),
        "metadata": (
            _zip(_tensor_v2(b"}" + p_str("conj") + value + b"s")),
            "unknown tensor metadata",
        ),
        "from-type-func": (
            pickle_of(
                _rebuild(
                    "_rebuild_from_type_v2",
                    value,
                    p_global("torch", "Tensor"),
                    b")",
                    NONE,
                )
            ),
            "cannot call",
        ),
        "sparse-layout": (
            pickle_of(_rebuild("_rebuild_sparse_tensor", value, b")")),
            "bad layout",
        ),
        "qscheme": (
            _zip(
                _rebuild(
                    "_rebuild_qtensor",
                    _storage_pid(),
                    p_int(0),
                    p_tuple(p_int(4)),
                    p_tuple(p_int(1)),
                    p_tuple(value),
                    FALSE,
                    NONE,
                )
            ),
            "bad qscheme",
        ),
        "device": (
            pickle_of(
                _rebuild(
                    "_rebuild_device_tensor_from_numpy", NONE, FLOAT32, value, FALSE
                )
            ),
            "device must be a device string",
        ),
        "layout": (
            pickle_of(p_call(p_global("torch.serialization", "_get_layout"), value)),
            "unknown layout",
        ),
    }
    if kind == "bigint":
        # An int is what these take: the 64-bit and bounds checks refuse it.
        for name in ("legacy-pid", "tar-storage-count"):
            del cases[name]
        cases["tar-pid"] = (
            _tar(pickle=pickle_of(value + b"Q")),
            "unknown persistent id",
        )
        cases["tar-storage-key"] = (cases["tar-storage-key"][0], "not <int of")
    return cases


def _cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for kind, value in HOSTILE.items():
        for name, (data, match) in _error_cases(value, kind).items():
            cases[f"{name}-{kind}"] = Case(
                data, "load", "error", with_cycle_mark(kind, match)
            )
    # Sizes of storage-less tensors are unchecked; devices are any string.
    huge = HOSTILE["bigint"]
    cases["repr-meta-size-bigint"] = Case(
        pickle_of(
            _rebuild(
                "_rebuild_meta_tensor_no_storage",
                FLOAT32,
                p_tuple(huge),
                p_tuple(p_int(1)),
                FALSE,
            )
        ),
        "repr",
        "text",
        "<int of",
    )
    cases["repr-wrapper-device"] = Case(
        pickle_of(
            _rebuild(
                "_rebuild_wrapper_subclass",
                NONE,
                FLOAT32,
                p_tuple(p_int(1)),
                p_tuple(p_int(1)),
                p_int(0),
                NONE,
                p_str("d" * (1 << 20)),
                FALSE,
            )
        ),
        "repr",
        "text",
        "ddd...",
    )
    # emulpickle convert: tensor names and candidate keys from the pickle.
    tensor = _tensor_v2(NONE)
    module = p_call(p_global("render_test", "Module"))
    convert = {
        "convert-key": b"}" + KEY_DAG + tensor + b"s",
        "convert-candidates": (
            b"}"
            + p_str("x")
            + p_int(1)
            + b"s"
            + KEY_DAG
            + b"}"
            + p_str("w")
            + tensor
            + b"s"
            + b"s"
        ),
        "convert-module": (
            module
            + b"}"
            + p_str("_parameters")
            + b"}"
            + KEY_DAG
            + tensor
            + b"s"
            + b"s"
            + b"b"
        ),
    }
    for name, body in convert.items():
        cases[f"{name}-dag"] = Case(_zip(body), "convert", "text", "exit=1")
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
def test_hostile_value_in_torch_message(
    name: str, outcome: tuple[dict[str, Case], dict[str, dict[str, Any]]]
) -> None:
    cases, reports = outcome
    check_case(name, cases[name], reports)


def test_huge_numel_is_refused_early() -> None:
    """The storage size check bounds numel (it used to pass any int >= 0)."""
    import emulpickle_torch as et

    data = _zip(_storage_pid(numel=p_int(1 << 63)))
    with pytest.raises(et.TorchFormatError, match="bad storage size"):
        et.load(data)
