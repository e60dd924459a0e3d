"""emulpickle.scan: verdicts on benign files and on each way to name a global."""

from __future__ import annotations

import collections
import datetime
import decimal
import io
import json
import os
import pickle
import struct
import types
import zipfile
from pathlib import Path

import pytest

from emulpickle.scan import Finding, ScanReport, classify, scan


def _u(s: str) -> bytes:
    raw = s.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


class Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("true",))


# --- API -------------------------------------------------------------------


def test_every_spelling_of_scan(tmp_path: Path) -> None:
    """``emulpickle.scan`` is a callable module: called, or its ``scan``
    called, or ``scan`` imported from it, or it imported from emulpickle."""
    import emulpickle
    import emulpickle.scanner
    from emulpickle import scan as scan_module
    from emulpickle.scan import Finding as ScanFinding
    from emulpickle.scan import ScanReport as Report
    from emulpickle.scan import scan as scan_function

    assert isinstance(emulpickle.scan, types.ModuleType)
    assert scan_module is emulpickle.scan
    assert scan_function is emulpickle.scanner.scan is emulpickle.scan.scan
    assert (ScanFinding, Report) == (emulpickle.Finding, emulpickle.ScanReport)
    data = pickle.dumps(Evil(), protocol=2)
    path = tmp_path / "evil.pkl"
    path.write_bytes(data)
    reports = [
        emulpickle.scan(data),
        emulpickle.scan.scan(data),
        scan_function(data),
        scan_module(data),
        emulpickle.scan(path),
    ]
    for report in reports:
        assert isinstance(report, Report)
        assert report.findings == reports[0].findings
        assert isinstance(report.findings[0], ScanFinding)
        assert report.dangerous
    registry = emulpickle.default_registry()
    assert (
        emulpickle.scan(data, registry=registry).to_dict()
        == scan_function(data, registry=registry).to_dict()
    )


def test_report_api_and_json() -> None:
    report = scan(pickle.dumps(Evil(), protocol=2) + b"")
    assert isinstance(report, ScanReport)
    assert report.source == "<bytes>"
    assert not report.clean
    (finding,) = report.findings
    assert isinstance(finding, Finding)
    assert finding.verdict == "dangerous"
    assert finding.via == "GLOBAL"
    assert finding.where == "pickle #1"
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["clean"] is False
    assert data["findings"][0]["verdict"] == "dangerous"


def test_path_and_pathlike(tmp_path: Path) -> None:
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps([1, 2, 3]))
    assert scan(path).clean
    assert scan(str(path)).source == str(path)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    report = scan(tmp_path / "nope.pkl")
    assert not report.clean and report.errors
    (tmp_path / "empty").write_bytes(b"")
    assert not scan(tmp_path / "empty").clean


@pytest.mark.parametrize(
    ("module", "name", "verdict"),
    [
        ("os", "system", "dangerous"),
        ("posix", "system", "dangerous"),
        ("nt", "system", "dangerous"),
        ("subprocess", "Popen", "dangerous"),
        ("builtins", "eval", "dangerous"),
        ("builtins", "getattr", "dangerous"),
        ("__builtin__", "eval", "dangerous"),
        ("importlib.machinery", "SourceFileLoader", "dangerous"),
        ("shlex", "os.system", "dangerous"),
        ("collections", "OrderedDict.__init__.__globals__", "dangerous"),
        ("torch", "load", "dangerous"),
        ("torch.jit._script", "RecursiveScriptModule", "dangerous"),
        ("numpy", "load", "dangerous"),
        ("functools", "partial", "dangerous"),
        ("operator", "attrgetter", "dangerous"),
        ("types", "CodeType", "dangerous"),
        ("pickle", "loads", "dangerous"),
        ("dill._dill", "_create_function", "dangerous"),
        ("asyncio.subprocess", "create_subprocess_shell", "dangerous"),
        (None, None, "dangerous"),
        ("collections", "OrderedDict", "safe"),
        ("builtins", "set", "safe"),
        ("torch._utils", "_rebuild_tensor_v2", "safe"),
        ("mypkg.models", "Config", "unknown"),
        ("builtins", "map", "unknown"),
    ],
)
def test_classify(module: str | None, name: str | None, verdict: str) -> None:
    assert classify(module, name)[0] == verdict


def test_python2_mapping() -> None:
    assert classify("copy_reg", "_reconstructor", python2=True)[0] == "safe"
    assert classify("__builtin__", "set", python2=True)[0] == "safe"
    assert classify("copy_reg", "_reconstructor", python2=False)[0] == "unknown"


# --- benign files ----------------------------------------------------------

BENIGN = [
    {"a": [1, 2.5, "x", b"y", None, True]},
    collections.OrderedDict(a=1),
    {1, 2, frozenset({3})},
    datetime.datetime(2020, 1, 2, 3, 4, 5),
    decimal.Decimal("1.5"),
    list(range(1000)),
    ["shared"] * 300,
]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("value", BENIGN, ids=lambda v: type(v).__name__)
def test_benign_stdlib_values_are_clean(value: object, protocol: int) -> None:
    report = scan(pickle.dumps(value, protocol=protocol))
    assert report.clean, report


def test_benign_stacked_pickles_are_clean() -> None:
    data = b"".join(pickle.dumps(v, protocol=p) for p, v in enumerate(BENIGN[:5]))
    report = scan(data)
    assert report.clean, report


def test_numpy_files_are_clean(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    np.save(tmp_path / "a.npy", np.arange(10.0))
    np.save(tmp_path / "o.npy", np.array([1, "x", {"k": 2}], dtype=object))
    np.savez(tmp_path / "z.npz", a=np.zeros(3), b=np.array([None], dtype=object))
    np.savez_compressed(tmp_path / "c.npz", a=np.ones((2, 2)))
    for name in ("a.npy", "o.npy", "z.npz", "c.npz"):
        report = scan(tmp_path / name)
        assert report.clean, report
    assert scan(pickle.dumps(np.arange(4), protocol=2)).clean
    assert scan(pickle.dumps(np.float32(1.5))).clean


def test_torch_checkpoints_are_clean(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    torch.save(model.state_dict(), tmp_path / "new.pt")
    torch.save(
        model.state_dict(), tmp_path / "old.pt", _use_new_zipfile_serialization=False
    )
    torch.save({"x": torch.randn(5), "n": 3}, tmp_path / "d.pt")
    for name in ("new.pt", "old.pt", "d.pt"):
        report = scan(tmp_path / name)
        assert report.clean, report
        assert any(f.name == "_rebuild_tensor_v2" for f in report.findings)


def test_where_names_zip_members(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps(Evil()))
    report = scan(buf.getvalue())
    assert [f.where for f in report.findings] == ["archive/data.pkl"]


# --- each way to name a global --------------------------------------------


def _proto(n: int) -> bytes:
    return b"\x80" + bytes([n])


ATTACKS: dict[str, bytes] = {
    "GLOBAL": b"cos\nsystem\n(S'true'\ntR.",
    "STACK_GLOBAL": _proto(4)
    + _u("os")
    + _u("system")
    + b"\x93"
    + _u("true")
    + b"\x85R.",
    "STACK_GLOBAL memoized": _proto(4)
    + _u("os")
    + b"\x94"
    + b"0"
    + b"h\x00"
    + _u("system")
    + b"\x93)R.",
    "STACK_GLOBAL BINUNICODE8": _proto(4)
    + b"\x8d"
    + struct.pack("<Q", 2)
    + b"os"
    + b"X"
    + struct.pack("<I", 6)
    + b"system\x93)R.",
    "STACK_GLOBAL python2 strings": _proto(4)
    + b"U\x02os"
    + b"T"
    + struct.pack("<i", 6)
    + b"system\x93)R.",
    "STACK_GLOBAL text strings": b"S'os'\nVsystem\n\x93)R.",
    "STACK_GLOBAL text memo": b"S'os'\np7\n0g7\nS'system'\n\x93)R.",
    "STACK_GLOBAL DUP": _proto(4)
    + _u("posix")
    + b"2"
    + b"0"
    + _u("system")
    + b"\x93)R.",
    "INST": b"(S'true'\nios\nsystem\n.",
    "OBJ": b"(cos\nsystem\nS'true'\no.",
    "dotted": _proto(4) + _u("shlex") + _u("os.system") + b"\x93)R.",
    "dotted GLOBAL": b"cpathlib\nos.system\n)R.",
    "dunder walk": _proto(4)
    + _u("collections")
    + _u("OrderedDict.__init__.__globals__")
    + b"\x93.",
    "python2 module": _proto(2) + b"c__builtin__\neval\n(S'1'\ntR.",
    "dynamic name": _proto(4)
    + b"cbuiltins\nstr\n"
    + _u("os")
    + b"\x85R"
    + _u("system")
    + b"\x93)R.",
}


@pytest.mark.parametrize("data", ATTACKS.values(), ids=list(ATTACKS))
def test_attacks_are_dangerous(data: bytes) -> None:
    report = scan(data)
    assert not report.clean
    assert any(f.verdict == "dangerous" for f in report.findings), report


def test_ext_codes() -> None:
    import copyreg

    copyreg.add_extension("os", "system", 0xF0)
    try:
        for data in (b"\x82\xf0", b"\x83\xf0\x00", b"\x84\xf0\x00\x00\x00"):
            report = scan(data + b")R.")
            assert report.findings[0].module == "os"
            assert report.findings[0].verdict == "dangerous"
    finally:
        copyreg.remove_extension("os", "system", 0xF0)
    report = scan(b"\x82\x01)R.")
    assert report.findings[0].verdict == "dangerous"
    assert report.findings[0].via == "EXT1"


def test_stacked_payload_after_benign_pickle() -> None:
    report = scan(pickle.dumps([1, 2]) + pickle.dumps(Evil()))
    assert not report.clean
    assert report.findings[0].where == "pickle #2"


def test_broken_tail_after_dangerous_global() -> None:
    report = scan(b"\x80\x02cos\nsystem\n(S'true'\ntR\xff\xff")
    assert not report.clean
    assert report.findings[0].verdict == "dangerous"
    assert report.errors and "invalid load key" in report.errors[0]


def test_unknown_is_not_clean() -> None:
    report = scan(b"\x80\x02cmypkg\nThing\n)\x81.")
    assert not report.clean
    assert report.findings[0].verdict == "unknown"


def test_python2_name_is_safe_via_mapping() -> None:
    report = scan(b"\x80\x02ccopy_reg\n_reconstructor\nN\x85R.")
    assert report.clean, report
    assert "copyreg._reconstructor" in report.findings[0].note


def test_custom_registry() -> None:
    from emulpickle import Registry, default_registry

    reg = Registry(parent=default_registry())
    reg.register("mypkg", "Thing", object())
    assert scan(b"\x80\x02cmypkg\nThing\n)\x81.", registry=reg).clean


def test_npy_with_object_descr_spelled_out_is_scanned() -> None:
    """numpy reads descr 'object' as an object dtype and unpickles the data."""
    header = "{'descr': 'object', 'fortran_order': False, 'shape': (1,), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    payload = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R]q\x01h\x00a."
    data = (
        b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
    ) + payload
    report = scan(data)
    assert not report.clean
    assert any(f.module in ("os", "posix") for f in report.findings)
