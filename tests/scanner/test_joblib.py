"""emulpickle.scan on joblib files: array data in the stream, nested object
pickles, compression, and whatever a plain pickle reader would reach instead.

The reference for every file is joblib's own unpickler, run with a
``find_class`` that records each global and answers only trusted modules
(anything else gets an inert stub, so hostile files stay harmless)."""

from __future__ import annotations

import bz2
import io
import lzma
import os
import pickle
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import emulpickle
from emulpickle.formats import FormatError
from emulpickle.formats.compressed import decompress
from emulpickle.formats.zip import RATIO_FLOOR
from emulpickle.scan import ScanReport, classify, scan
from emulpickle.scanner import joblib as _scan_joblib
from emulpickle.scanner import walk as _scan_walk

np = pytest.importorskip("numpy")
joblib = pytest.importorskip("joblib")
from joblib.numpy_pickle import NumpyUnpickler  # noqa: E402

_TRUSTED = ("numpy", "joblib", "sklearn", "scipy", "collections", "copyreg", "copy_reg")
_TRUSTED_BUILTINS = {"object", "set", "frozenset", "slice", "complex", "bytearray"}


def _stub(*args: object, **kwargs: object) -> None:
    """What an untrusted global becomes in the reference loader."""


class _Recorder(NumpyUnpickler):  # type: ignore[misc]
    """joblib's unpickler, recording every global it is asked for."""

    seen: set[tuple[str, str]]

    def find_class(self, module: str, name: str) -> Any:
        self.seen.add((module, name))
        trusted = module.split(".")[0] in _TRUSTED or module == "_codecs"
        if module in ("builtins", "__builtin__"):
            trusted = name in _TRUSTED_BUILTINS
        if trusted:
            return super().find_class(module, name)
        return _stub


def _joblib_load(raw: bytes) -> tuple[Any, set[tuple[str, str]]]:
    """What joblib.load returns for ``raw`` (uncompressed), and the globals it named."""
    unpickler = _Recorder("", io.BytesIO(raw), True)
    unpickler.seen = set()
    return unpickler.load(), unpickler.seen


def _globals(report: ScanReport) -> set[tuple[str | None, str | None]]:
    return {(f.module, f.name) for f in report.findings}


def _answering(names: set[tuple[str, str]]) -> emulpickle.Registry:
    """A registry that accepts every name in ``names``, and what numpy's plugin does."""
    registry = emulpickle.Registry(parent=emulpickle.Registry.with_plugins("numpy"))
    for module, name in names:
        registry.register(module, name, object())
    return registry


ARRAYS = {
    "f8": np.arange(5.0),
    "f4 fortran": np.asfortranarray(np.ones((3, 4), dtype=np.float32)),
    "empty i1": np.array([], dtype=np.int8),
    "big-endian": np.arange(6, dtype=">i8").reshape(2, 3),
    "0-d": np.array(7),
    "bool": np.array([True, False]),
    "complex": np.array([1 + 2j]),
    "unicode": np.array(["ab", "cde"]),
    "bytes": np.array([b"xy"]),
    "datetime": np.array(["2020-01-01"], dtype="M8[D]"),
    "structured": np.zeros(3, dtype=[("x", "<i4"), ("y", "U3"), ("z", "f8", (2,))]),
    "subarray": np.zeros(2, dtype=("f8", (3,))),
    "objects": np.array([1, "x", None, (2, 3)], dtype=object),
    "noncontiguous": np.arange(20.0)[::3],
}


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_dict_of_arrays_every_protocol(protocol: int) -> None:
    buf = io.BytesIO()
    joblib.dump(ARRAYS, buf, protocol=protocol)
    raw = buf.getvalue()
    loaded, seen = _joblib_load(raw)
    assert set(loaded) == set(ARRAYS)
    report = scan(raw)
    assert report.errors == []
    assert _globals(report) == seen
    # joblib's wrapper is safe as written (emulpickle reads it, checked).
    assert report.unknown == [] and report.dangerous == []
    assert report.clean


@pytest.mark.parametrize(
    ("compress", "kind"),
    [
        (3, "zlib"),
        (("gzip", 3), "gzip"),
        (("bz2", 3), "bz2"),
        (("lzma", 3), "lzma"),
        (("xz", 3), "xz"),
    ],
)
def test_compressed_files(tmp_path: Path, compress: object, kind: str) -> None:
    path = tmp_path / "arrays.joblib"
    joblib.dump(ARRAYS, path, compress=compress)
    plain = io.BytesIO()
    joblib.dump(ARRAYS, plain)
    report = scan(path)
    assert report.errors == []
    assert {f.where for f in report.findings} == {f"{kind}-compressed stream"}
    assert _globals(report) == _joblib_load(plain.getvalue())[1]


def test_fitted_models(tmp_path: Path) -> None:
    sklearn = pytest.importorskip("sklearn")
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    assert sklearn
    rng = np.random.RandomState(0)
    x = rng.rand(40, 3)
    y = (x[:, 0] > 0.5).astype(int)
    models = {
        "logistic": LogisticRegression().fit(x, y),
        "forest": RandomForestClassifier(n_estimators=2, random_state=0).fit(x, y),
    }
    for name, model in models.items():
        for compress in (0, 3):
            path = tmp_path / f"{name}{compress}.joblib"
            joblib.dump(model, path, compress=compress)
            raw = io.BytesIO()
            joblib.dump(model, raw)
            _, seen = _joblib_load(raw.getvalue())
            report = scan(path)
            assert report.errors == [], (name, report.errors)
            assert _globals(report) == seen, name
            assert any(m and m.startswith("sklearn.") for m, _ in seen)
            # Clean exactly when the registry answers sklearn's classes (the
            # scikit-learn plugin, when installed, does).
            plain = emulpickle.Registry.with_plugins("numpy")
            assert not scan(path, registry=plain).clean
            assert scan(path, registry=_answering(seen)).clean


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_payload_in_object_array(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    value = {
        "before": np.arange(4.0),
        "objects": np.array([1, _Evil(marker)], dtype=object),
        "after": np.ones(3),
    }
    buf = io.BytesIO()
    joblib.dump(value, buf)
    raw = buf.getvalue()
    _, seen = _joblib_load(raw)
    assert not marker.exists()
    report = scan(raw)
    assert report.errors == []
    assert _globals(report) == seen
    (danger,) = report.dangerous
    assert (danger.module, danger.name) == (os.system.__module__, "system")
    # STACK_GLOBAL, right after the name, inside the nested pickle.
    assert raw.index(b"system") < danger.offset < raw.index(b"system") + 20


def test_classification_of_joblib_names() -> None:
    verdict, note = classify("joblib.numpy_pickle", "NumpyArrayWrapper")
    assert verdict == "safe" and "joblib" in note
    for name in ("NDArrayWrapper", "ZNDArrayWrapper", "load"):
        assert classify("joblib.numpy_pickle", name)[0] == "dangerous"
    # The same class, reached through the package: as inert.
    assert classify("joblib", "numpy_pickle.NumpyArrayWrapper")[0] == "unknown"
    assert classify("joblib", "numpy_pickle.load")[0] == "dangerous"
    assert classify("joblib", "load")[0] == "dangerous"


# --- hand-made joblib streams -------------------------------------------------


def _u(s: str) -> bytes:
    raw = s.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _g(module: str, name: str) -> bytes:
    return f"c{module}\n{name}\n".encode()


def _v(value: object) -> bytes:
    """Opcodes that push ``value`` (no memo, so they can be spliced anywhere)."""
    if value is None:
        return b"N"
    if isinstance(value, bool):
        return b"\x88" if value else b"\x89"
    if isinstance(value, int):
        return b"\x8a" + bytes([8]) + value.to_bytes(8, "little", signed=True)
    if isinstance(value, str):
        return _u(value)
    if isinstance(value, bytes):
        return b"B" + struct.pack("<I", len(value)) + value
    if isinstance(value, tuple):
        return b"(" + b"".join(_v(v) for v in value) + b"t"
    if isinstance(value, dict):
        return b"}(" + b"".join(_v(k) + _v(v) for k, v in value.items()) + b"u"
    if isinstance(value, _Ops):
        return value.ops
    if isinstance(value, np.dtype):
        return _native(value).ops
    raise TypeError(value)


class _Ops:
    """Opcodes to splice into a value built by :func:`_v`."""

    def __init__(self, ops: bytes) -> None:
        self.ops = ops


WRAPPER = _g("joblib.numpy_pickle", "NumpyArrayWrapper")
NDARRAY = _Ops(_g("numpy", "ndarray"))


def _dtype(args: tuple[object, ...], state: object = None) -> _Ops:
    ops = _g("numpy", "dtype") + _v(args) + b"R"
    return _Ops(ops if state is None else ops + _v(state) + b"b")


def _native(dtype: Any) -> _Ops:
    """A dtype spelled as numpy pickles it."""
    _, args, state = dtype.__reduce__()
    return _dtype(args, state)


def _state(shape: tuple[int, ...], dtype: _Ops, **extra: object) -> dict[str, object]:
    state: dict[str, object] = {
        "subclass": NDARRAY,
        "shape": shape,
        "order": "C",
        "dtype": dtype,
        "allow_mmap": False,
        "numpy_array_alignment_bytes": 16,
    }
    state.update(extra)
    return {k: v for k, v in state.items() if v is not _MISSING}


_MISSING = _Ops(b"")
MARKER = _g("collections", "OrderedDict") + b")R"


def _data(dtype: Any, count: int, padding: int | None) -> bytes:
    """What joblib writes after the BUILD (for data we choose: 0xff bytes)."""
    if dtype.hasobject:
        return pickle.dumps(np.arange(count), protocol=5)
    pad = b"" if padding is None else bytes([padding]) + b"\xfe" * padding
    return pad + b"\xff" * (count * int(dtype.itemsize))


def _stream(*parts: bytes, marker: bytes = MARKER) -> tuple[bytes, int]:
    """A pickle of ``(array..., OrderedDict())``; and where the marker starts."""
    body = b"\x80\x04(" + b"".join(parts)
    return body + marker + b"t.", len(body)


def _assert_follows(raw: bytes, at: int, arrays: int = 1) -> None:
    """joblib reads ``raw`` and the scan finds the marker global at ``at``."""
    loaded, seen = _joblib_load(raw)
    assert len(loaded) == arrays + 1 and dict(loaded[-1]) == {}
    report = scan(raw)
    assert report.errors == []
    assert _globals(report) == seen
    (marker,) = [f for f in report.findings if f.name == "OrderedDict"]
    assert marker.offset == at


def _newobj_array(state: object) -> bytes:
    return WRAPPER + b")\x81" + _v(state) + b"b"


F8 = np.dtype("f8")

FORMS: dict[str, Callable[[], tuple[bytes, int, int]]] = {}


def _form(name: str) -> Callable[[Callable[[], tuple[bytes, int, int]]], None]:
    def register(build: Callable[[], tuple[bytes, int, int]]) -> None:
        FORMS[name] = build

    return register


@_form("NEWOBJ and a state dict")
def _newobj() -> tuple[bytes, int, int]:
    head = _newobj_array(_state((3,), _native(F8)))
    return (*_stream(head + _data(F8, 3, 5)), 1)


@_form("joblib before 1.2: no alignment attribute, no padding")
def _old() -> tuple[bytes, int, int]:
    head = _newobj_array(
        _state((2, 2), _native(F8), numpy_array_alignment_bytes=_MISSING)
    )
    return (*_stream(head + _data(F8, 4, None)), 1)


@_form("alignment None: no padding")
def _align_none() -> tuple[bytes, int, int]:
    head = _newobj_array(_state((2,), _native(F8), numpy_array_alignment_bytes=None))
    return (*_stream(head + _data(F8, 2, None)), 1)


@_form("REDUCE calls __init__ (default alignment 16)")
def _reduce() -> tuple[bytes, int, int]:
    args = (NDARRAY, (4,), "C", _native(F8))
    head = WRAPPER + _v(args) + b"R" + _v({}) + b"b"
    return (*_stream(head + _data(F8, 4, 0)), 1)


@_form("REDUCE with all six arguments")
def _reduce6() -> tuple[bytes, int, int]:
    args = (NDARRAY, (4,), "C", _native(F8), True, None)
    head = WRAPPER + _v(args) + b"R" + _v({}) + b"b"
    return (*_stream(head + _data(F8, 4, None)), 1)


@_form("copyreg._reconstructor, as protocols 0 and 1 write it")
def _reconstructor() -> tuple[bytes, int, int]:
    make = _g("copyreg", "_reconstructor") + b"(" + WRAPPER + _g("builtins", "object")
    head = make + b"NtR" + _v(_state((1,), _native(F8))) + b"b"
    return (*_stream(head + _data(F8, 1, 2)), 1)


@_form("copyreg.__newobj__")
def _newobj_helper() -> tuple[bytes, int, int]:
    make = _g("copyreg", "__newobj__") + b"(" + WRAPPER + b"tR"
    head = make + _v(_state((1,), _native(F8))) + b"b"
    return (*_stream(head + _data(F8, 1, 2)), 1)


@_form("OBJ with arguments calls __init__")
def _obj() -> tuple[bytes, int, int]:
    args = b"".join(_v(a) for a in (NDARRAY, (3,), "C", _native(F8), False, 16))
    head = b"(" + WRAPPER + args + b"o" + _v({}) + b"b"
    return (*_stream(head + _data(F8, 3, 7)), 1)


@_form("INST without arguments")
def _inst() -> tuple[bytes, int, int]:
    head = b"(ijoblib.numpy_pickle\nNumpyArrayWrapper\n" + _v(_state((1,), _native(F8)))
    return (*_stream(head + b"b" + _data(F8, 1, 1)), 1)


@_form("slot state (None, dict)")
def _slots() -> tuple[bytes, int, int]:
    head = _newobj_array((None, _state((2,), _native(F8))))
    return (*_stream(head + _data(F8, 2, 3)), 1)


@_form("a memoized wrapper built twice is read twice")
def _twice() -> tuple[bytes, int, int]:
    first = WRAPPER + b")\x81\x94" + _v(_state((2,), _native(F8))) + b"b"
    second = b"h\x00" + _v({"shape": (1,)}) + b"b"
    body = first + _data(F8, 2, 4) + second + _data(F8, 1, 0)
    return (*_stream(body), 2)


@_form("a dtype memoized and used again")
def _shared_dtype() -> tuple[bytes, int, int]:
    dtype = _Ops(_native(np.dtype("U2")).ops + b"\x94")
    first = _newobj_array(_state((1,), dtype)) + _data(np.dtype("U2"), 1, 2)
    second = _newobj_array(_state((3,), _Ops(b"h\x00"))) + _data(np.dtype("U2"), 3, 9)
    return (*_stream(first + second), 2)


@_form("the wrapper named by STACK_GLOBAL with a dotted name")
def _dotted() -> tuple[bytes, int, int]:
    cls = _u("joblib") + _u("numpy_pickle.NumpyArrayWrapper") + b"\x93"
    head = cls + b")\x81" + _v(_state((2,), _native(F8))) + b"b"
    return (*_stream(head + _data(F8, 2, 1)), 1)


@_form("a frame that ends at the BUILD")
def _framed() -> tuple[bytes, int, int]:
    head = _newobj_array(_state((2,), _native(F8)))
    framed = b"\x95" + struct.pack("<Q", len(head)) + head
    return (*_stream(framed + _data(F8, 2, 6)), 1)


@_form("object dtype: a nested pickle")
def _objects() -> tuple[bytes, int, int]:
    dtype = np.dtype(object)
    head = _newobj_array(_state((2,), _native(dtype))) + _data(dtype, 2, None)
    return (*_stream(head), 1)


@pytest.mark.parametrize("form", FORMS.values(), ids=list(FORMS))
def test_wrapper_forms(form: Callable[[], tuple[bytes, int, int]]) -> None:
    raw, at, arrays = form()
    _assert_follows(raw, at, arrays)


def _kinds() -> list[Any]:
    names = ["?", "i1", "u2", "i4", "u8", "f2", "f4", "f8", "c8", "c16", "O"]
    names += ["S5", "U1", "U7", "V3", "M8[ns]", "m8[s]", "M8"]
    names += ["longdouble", "clongdouble"]
    kinds = [np.dtype(n) for n in names]
    kinds.append(np.dtype([("a", "i2"), ("b", "O")]))
    kinds.append(np.dtype([("a", "i2"), ("b", "f8")], align=True))
    kinds.append(np.dtype([("a", "i4", (2, 3)), ("b", "S3")]))
    return kinds


@pytest.mark.parametrize("dtype", _kinds(), ids=str)
def test_every_dtype_numpy_writes(dtype: Any) -> None:
    head = _newobj_array(_state((3,), _native(dtype))) + _data(dtype, 3, 2)
    _assert_follows(*_stream(head))


@settings(
    max_examples=int(os.environ.get("EMULPICKLE_DTYPE_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    dtype=st.sampled_from(_kinds()),
    copy=st.sampled_from([True, 1, False, 0]),
    version=st.sampled_from([3, 4, 2, True]),
    grow=st.sampled_from([None, 0, 1, 4, 8]),
    flags=st.sampled_from([None, 0, 1, 16, 63, -127, -128, 256, 257]),
    built=st.booleans(),
    count=st.integers(0, 3),
)
def test_dtype_layout_agrees_with_numpy(
    dtype: Any,
    copy: object,
    version: object,
    grow: int | None,
    flags: int | None,
    built: bool,
    count: int,
) -> None:
    """Whenever joblib reads the stream, the scan either finds the marker right
    after the array or refuses the dtype: it never misreads the layout (which
    would show as some other error, or as the marker somewhere else)."""
    _, args, state = dtype.__reduce__()
    state = list(state)
    state[0] = version
    if grow is not None:  # a flexible dtype's size: zero, or larger
        state[5] = grow and dtype.itemsize + grow * (4 if dtype.kind == "U" else 1)
    if flags is not None:
        # Object items read as raw bytes would crash numpy itself.
        assume(not dtype.hasobject or flags & 1)
        state[7] = flags
    spec = _dtype((args[0], args[1], copy), tuple(state) if built else None)
    try:
        real = pickle.loads(b"\x80\x04" + spec.ops + b".")
        raw, at = _stream(_newobj_array(_state((count,), spec)) + _data(real, count, 3))
        _joblib_load(raw)
    except Exception:
        assume(False)  # numpy or joblib refuse it: nothing to compare
        return
    report = scan(raw)
    if report.errors:
        (error,) = report.errors
        assert re.search(r"joblib array: (a dtype|unsupported dtype|dtype item)", error)
        assert version not in (3, 4) or copy not in (True, 1) or grow == 0
    else:
        assert [f.offset for f in report.findings if f.name == "OrderedDict"] == [at]


REFUSED: dict[str, tuple[bytes, str]] = {
    "shape computed by a call": (
        _newobj_array(
            _state(_Ops(_g("builtins", "tuple") + b"(](K\x02etR"), _native(F8))  # type: ignore[arg-type]
        ),
        "shape",
    ),
    "wrapper passed to unknown code, then built": (
        _g("copy", "copy")
        + b"("
        + WRAPPER
        + b")\x81tR"
        + _v(_state((1,), _native(F8)))
        + b"b",
        "does not follow",
    ),
    "wrapper class passed to unknown code": (
        _g("mod", "make")
        + b"("
        + WRAPPER
        + b"tR"
        + _v(_state((1,), _native(F8)))
        + b"b",
        "does not follow",
    ),
    "dtype without copy": (
        _newobj_array(_state((1,), _dtype(("f8", False, False)))),
        "dtype",
    ),
    "dtype state version 2": (
        _newobj_array(
            _state(
                (1,), _dtype(("f8", False, True), (2, "<", None, None, None, -1, -1, 0))
            )
        ),
        "dtype state",
    ),
    "dtype spelled with a byte order": (
        _newobj_array(_state((1,), _dtype(("<f8", False, True)))),
        "dtype",
    ),
    "state dict with a key the scan cannot follow": (
        WRAPPER + b")\x81}(" + _u("shape") + _v((1,)) + b"G" + b"\0" * 8 + b"Nub",
        "state",
    ),
    "a state that replaces a method": (
        _newobj_array(_state((1,), _native(F8), read=_Ops(_g("builtins", "print")))),
        "other attributes",
    ),
    "a state that adds __setstate__": (
        _newobj_array(_state((1,), _native(F8), __setstate__=None)),
        "other attributes",
    ),
    "objects marked for memory-mapping": (
        _newobj_array(_state((1,), _native(np.dtype(object)), allow_mmap=True)),
        "memory-mapping",
    ),
    "negative dimension": (_newobj_array(_state((-1,), _native(F8))), "dimension"),
    "BUILD on the wrapper class": (WRAPPER + b"(N}tb", "class"),
    "array data inside a frame": (
        b"\x95"
        + struct.pack("<Q", len(_newobj_array(_state((1,), _native(F8)))) + 9)
        + _newobj_array(_state((1,), _native(F8))),
        "frame",
    ),
    "array data past the end": (
        _newobj_array(_state((1000,), _native(F8))) + b"\x00",
        "past the end",
    ),
}


@pytest.mark.parametrize(("head", "reason"), REFUSED.values(), ids=list(REFUSED))
def test_what_the_scan_cannot_follow_is_an_error(head: bytes, reason: str) -> None:
    raw = b"\x80\x04(" + head + b"\x00" * 64 + MARKER + b"t."
    report = scan(raw)
    assert not report.clean
    assert len(report.errors) == 1 and reason in report.errors[0], report.errors


def test_nested_pickle_errors_are_reported() -> None:
    dtype = np.dtype(object)
    head = _newobj_array(_state((2,), _native(dtype)))
    nested = pickle.dumps(np.arange(2), protocol=5)
    report = scan(b"\x80\x04(" + head + nested[:-9])
    assert report.errors and "object array pickle" in report.errors[0]
    framed = b"\x80\x04\x95" + struct.pack("<Q", 3) + b"N.N"
    report = scan(b"\x80\x04(" + head + framed + MARKER + b"t.")
    assert report.errors and "stops inside a frame" in report.errors[0]


def test_what_only_a_plain_pickle_reader_reaches(tmp_path: Path) -> None:
    """Bytes joblib skips as array data are opcodes to pickle.load: the scan
    reports the globals they name too, with a note."""
    payload = b"cos\nsystem\n(S'true'\ntR."
    dtype = np.dtype("u1")
    head = _newobj_array(
        _state((len(payload) + 1,), _native(dtype), numpy_array_alignment_bytes=None)
    )
    raw, at = _stream(head + b"." + payload)
    _, seen = _joblib_load(raw)
    assert ("os", "system") not in seen
    plain: list[tuple[str, str]] = []

    class Plain(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            plain.append((module, name))
            return _stub if module == "os" else super().find_class(module, name)

    stream = io.BytesIO(raw)
    Plain(stream).load()
    Plain(stream).load()  # a reader of stacked pickles goes on
    assert ("os", "system") in plain
    report = scan(raw)
    assert report.errors == []
    (danger,) = report.dangerous
    assert (danger.module, danger.name) == ("os", "system")
    assert "pickle.load" in danger.note
    assert danger.offset == raw.index(b"cos")
    # The marker after the array is found where joblib reads it.
    assert [f.offset for f in report.findings if f.name == "OrderedDict"] == [at]


def test_walkers_agree_without_joblib() -> None:
    """On pickles that name no wrapper, the joblib walker is the plain walker."""
    values: list[object] = [
        {"a": [1, 2.5, "x" * 300, b"y", None, True], "b": (1, 2)},
        {1, frozenset({2})},
        np.arange(3),
        np.array([1, "x"], dtype=object),
        ["shared"] * 3,
    ]
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        for value in values:
            data = pickle.dumps(value, protocol=protocol)
            for cut in (len(data), len(data) // 2):
                results: list[tuple[object, _scan_walk.Refs]] = []
                for walker in (_scan_walk.walk, _scan_joblib.walk):
                    refs: _scan_walk.Refs = {}
                    try:
                        results.append((walker(data, 0, cut, refs), refs))
                    except _scan_walk.Broken as exc:
                        results.append(((exc.reason, exc.offset), refs))
                assert results[0] == results[1]


# --- compression ----------------------------------------------------------


def test_compressed_plain_pickles_are_scanned() -> None:
    evil = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R."
    gzip = zlib.compressobj(wbits=31)
    streams = {
        "zlib": zlib.compress(evil),
        "gzip": gzip.compress(evil) + gzip.flush(),
        "bz2": bz2.compress(evil),
        "xz": lzma.compress(evil),
        "lzma": lzma.compress(evil, format=lzma.FORMAT_ALONE),
    }
    for kind, data in streams.items():
        report = scan(data)
        assert report.errors == [], kind
        (danger,) = report.dangerous
        assert danger.where == f"{kind}-compressed stream"
        truncated = scan(data[: len(data) // 2])
        assert truncated.errors and truncated.errors[0].startswith(f"{kind}-compressed")


def test_old_joblib_compat_format() -> None:
    body = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R."
    header = b"ZF" + hex(len(body)).encode().ljust(19)
    for sep in (b"", b" "):
        report = scan(header + sep + zlib.compress(body))
        assert report.errors == []
        assert report.dangerous[0].where == "compat-compressed stream"
    assert scan(b"ZF" + b"zz".ljust(19) + zlib.compress(body)).errors
    wrong = b"ZF" + hex(len(body) + 1).encode().ljust(19) + zlib.compress(body)
    assert "header says" in scan(wrong).errors[0]


def test_unsupported_and_broken_compression() -> None:
    lz4 = scan(b"\x04\x22\x4d\x18" + b"\0" * 20)
    assert lz4.errors and "lz4" in lz4.errors[0]
    assert scan(b"x\x9cnot zlib at all").errors
    # A pickle may start like joblib's bz2 prefix ("B" is BINBYTES).
    report = scan(b"BZ\x00\x00\x00" + b"x" * 90 + b".")
    assert report.clean, report


def test_decompression_is_bounded() -> None:
    """A compressed file may decompress to ``Limits.max_inflate_ratio`` times
    its size (past 1 MiB), as far as loaders inflate."""
    bomb = bz2.compress(b"\0" * (64 << 20))
    limit = max(RATIO_FLOOR, emulpickle.Limits().max_inflate_ratio * len(bomb))
    assert limit < 64 << 20
    assert scan(bomb).errors == [
        f"bz2-compressed file: decompresses to more than {limit} bytes"
        " (decompression bomb?)"
    ]
    with pytest.raises(FormatError, match="more than 1000"):
        decompress(bz2.compress(b"\0" * 5000), "bz2", 1000)


def test_errors_name_their_offsets() -> None:
    report = scan(b"\x80\x04(" + REFUSED["negative dimension"][0])
    match = re.search(r"at offset (\d+)", report.errors[0])
    assert match is not None and int(match.group(1)) > 0
