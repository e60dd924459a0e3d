"""scan_target(): every format a hub holds, recognised by content (each file
is written by its real tool, then given a name that says nothing), hashed
while read, and nothing the filesystem does raises."""

from __future__ import annotations

import bz2
import functools
import gzip
import hashlib
import io
import json
import lzma
import os
import pickle
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from emulpickle.scanner import sevenzip
from emulpickle.scanner.filescan import FileResult, scan_target
from emulpickle.scanner.targets import Target

COMMAND = "true"


class Evil:
    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (COMMAND,))


def _scan(path: Path, **kwargs: object) -> FileResult:
    return scan_target(Target(str(path), path.stat().st_size), **kwargs)  # type: ignore[arg-type]


def _torch_zip(path: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.zeros(3)}, path)


def _torch_legacy(path: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.zeros(3)}, path, _use_new_zipfile_serialization=False)


def _torchscript(path: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.jit.save(torch.jit.script(torch.nn.ReLU()), str(path))


def _npy(path: Path) -> None:
    np = pytest.importorskip("numpy")
    with open(path, "wb") as f:
        np.save(f, np.arange(4))


def _npz(path: Path) -> None:
    np = pytest.importorskip("numpy")
    with open(path, "wb") as f:
        np.savez(f, a=np.arange(4), b=np.ones(2))


def _joblib(compress: object) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        joblib = pytest.importorskip("joblib")
        joblib.dump({"a": [1, 2]}, path, compress=compress)

    return write


def _pickle(path: Path) -> None:
    with open(path, "wb") as f:
        pickle.dump({"a": 1}, f)
        pickle.dump([2], f)  # stacked


def _wrapped(opener: Callable[..., io.IOBase]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with opener(path, "wb") as f:
            pickle.dump({"a": 1}, f)

    return write


def _safetensors(path: Path) -> None:
    numpy = pytest.importorskip("safetensors.numpy")
    np = pytest.importorskip("numpy")
    numpy.save_file({"w": np.zeros((2, 3), dtype=np.float32)}, str(path))


def _seven_zip(path: Path) -> None:
    py7zr = pytest.importorskip("py7zr")
    with py7zr.SevenZipFile(path, "w") as archive:
        archive.writestr(pickle.dumps({"a": 1}), "model.pkl")


def _zip_of_models(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("models/a.pkl", pickle.dumps([1]))
        archive.writestr("README", "hello")


def _tar_of_models(path: Path) -> None:
    with tarfile.open(path, "w:gz") as archive:
        data = pickle.dumps([1])
        info = tarfile.TarInfo("models/a.pkl")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))


FORMATS: dict[str, tuple[Callable[[Path], None], str]] = {
    "torch.save": (_torch_zip, "torch-zip"),
    "torch.save legacy": (_torch_legacy, "torch-legacy"),
    "torch.jit.save": (_torchscript, "torchscript"),
    "numpy.save": (_npy, "npy"),
    "numpy.savez": (_npz, "npz"),
    "joblib.dump": (_joblib(0), "pickle"),
    "joblib.dump zlib": (_joblib(3), "zlib+pickle"),
    "joblib.dump gzip": (_joblib(("gzip", 3)), "gzip+pickle"),
    "joblib.dump xz": (_joblib(("xz", 3)), "xz+pickle"),
    "pickle.dump stacked": (_pickle, "pickle"),
    "gzip": (_wrapped(gzip.open), "gzip+pickle"),
    "bz2": (_wrapped(bz2.open), "bz2+pickle"),
    "xz": (_wrapped(lzma.open), "xz+pickle"),
    "lzma": (
        _wrapped(functools.partial(lzma.open, format=lzma.FORMAT_ALONE)),
        "lzma+pickle",
    ),
    "safetensors save_file": (_safetensors, "safetensors"),
    "py7zr": (_seven_zip, "7z"),
    "zipfile of models": (_zip_of_models, "zip"),
    "tarfile.gz of models": (_tar_of_models, "gzip+tar"),
}


@pytest.mark.parametrize("case", sorted(FORMATS))
def test_formats_are_named_by_content(tmp_path: Path, case: str) -> None:
    write, expected = FORMATS[case]
    path = tmp_path / "upload.dat"  # the name says nothing
    write(path)
    result = _scan(path)
    assert result.format == expected, result
    # TorchScript's pickles name __torch__ classes and torch.jit helpers,
    # which the scan does not clear (as before): only the format is new.
    assert result.clean or expected == "torchscript", result
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.size == path.stat().st_size


def test_joblib_with_arrays_is_joblib(tmp_path: Path) -> None:
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    joblib.dump({"a": np.arange(5)}, tmp_path / "m", compress=3)
    joblib.dump({"a": np.arange(5)}, tmp_path / "n")
    assert _scan(tmp_path / "m").format == "zlib+joblib"
    assert _scan(tmp_path / "n").format == "joblib"


@pytest.mark.parametrize(
    "case", ["gzip", "bz2", "xz", "py7zr", "zipfile of models", "tarfile.gz of models"]
)
def test_a_dangerous_pickle_is_found_inside_every_wrapper(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write, expected = FORMATS[case]
    # Every pickle the writers make is the hostile one.
    monkeypatch.setattr(pickle, "dumps", lambda obj, *a, **k: _evil_bytes())
    monkeypatch.setattr(pickle, "dump", lambda obj, f, *a, **k: f.write(_evil_bytes()))
    path = tmp_path / "upload.dat"
    write(path)
    result = _scan(path)
    assert result.format == expected
    assert [f.name for f in result.findings if f.verdict == "dangerous"] == ["system"]


def _evil_bytes() -> bytes:
    return pickle._dumps(Evil(), protocol=4)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"# A model card\n\nIt classifies cats.\n", "text"),
        (b"x = 1  # starts like a zlib stream\n", "text"),
        (json.dumps({"architectures": ["Bert"]}).encode(), "json"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "png"),
        (b"GGUF\x03\x00\x00\x00" + bytes(100), "gguf"),
        (bytes([0xF7, 0xFF, 0xFE]) + os.urandom(4000), "not-a-pickle"),
    ],
)
def test_files_that_hold_no_pickle_are_clean(
    tmp_path: Path, data: bytes, expected: str
) -> None:
    path = tmp_path / "f"
    path.write_bytes(data)
    result = _scan(path)
    assert (result.format, result.clean, result.errors) == (expected, True, [])


def test_a_damaged_pickle_is_not_called_not_a_pickle(tmp_path: Path) -> None:
    path = tmp_path / "f"
    whole = pickle.dumps(list(range(100)), protocol=2)
    path.write_bytes(whole[:-40])  # truncated
    result = _scan(path)
    assert result.format == "pickle" and not result.clean
    assert result.errors


def test_a_pickle_that_names_a_global_then_breaks_is_unclean(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"cos\nsystem\n\xff")
    result = _scan(path)
    assert not result.clean and result.format == "pickle"


def test_empty_files(tmp_path: Path) -> None:
    path = tmp_path / "__init__.py"
    path.write_bytes(b"")
    result = _scan(path)
    assert (result.format, result.clean) == ("empty", True)
    assert result.sha256 == hashlib.sha256(b"").hexdigest()


def test_safetensors_headers_are_checked(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    from emulpickle.formats.safetensors import Entry, write_file

    good = tmp_path / "good"
    with open(good, "wb") as f:
        write_file(f, [Entry("w", "F32", (2,), lambda: [np.zeros(2, "<f4").tobytes()])])
    assert _scan(good).clean
    data = good.read_bytes()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    bad_cases = {
        "truncated": data[:-1],
        "offsets": _retensor(header, data, {"data_offsets": [0, 4]}),
        "dtype": _retensor(header, data, {"dtype": "PICKLE"}),
        "shape": _retensor(header, data, {"shape": [-2]}),
        "not json": data[:8] + b'{"w"' + b" " * (length - 4) + data[8 + length :],
    }
    for name, bad in bad_cases.items():
        path = tmp_path / name
        path.write_bytes(bad)
        result = _scan(path)
        assert result.format == "safetensors" and not result.clean, name
        assert result.errors[0].startswith("safetensors:"), result.errors


def _retensor(
    header: dict[str, object], data: bytes, change: dict[str, object]
) -> bytes:
    entry = dict(header["w"])  # type: ignore[call-overload]
    entry.update(change)
    raw = json.dumps({**header, "w": entry}).encode()
    length = int.from_bytes(data[:8], "little")
    return len(raw).to_bytes(8, "little") + raw + data[8 + length :]


def test_7z_without_py7zr_is_unclean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.7z"
    _seven_zip(path)
    import importlib

    real = importlib.import_module

    def no_py7zr(name: str, *args: object) -> object:
        if name.startswith("py7zr"):
            raise ImportError(name)
        return real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib, "import_module", no_py7zr)
    result = _scan(path)
    assert result.format == "7z" and not result.clean
    assert "emulpickle[7z]" in result.errors[0]
    assert sevenzip.MISSING in result.errors[0]


def test_nothing_the_filesystem_does_raises(tmp_path: Path) -> None:
    gone = _scan_missing(tmp_path / "vanished.pkl")
    assert (gone.format, gone.sha256, gone.clean) == ("unreadable", None, False)
    assert "No such file" in gone.errors[0]
    # A directory, or a fifo, where a file was found.
    for path in (tmp_path / "dir", tmp_path / "fifo"):
        if path.name == "dir":
            path.mkdir()
        else:
            os.mkfifo(path)
        result = scan_target(Target(str(path), 0))
        assert result.format == "unreadable" and not result.clean, result
    # Unreadable for this user: root reads anything, so make it unopenable.
    locked = tmp_path / "locked"
    locked.write_bytes(pickle.dumps(1))
    locked.chmod(0)
    if os.geteuid() != 0:
        assert _scan(locked).format == "unreadable"


def _scan_missing(path: Path) -> FileResult:
    return scan_target(Target(str(path), 10))


def test_sha256_optional(tmp_path: Path) -> None:
    path = tmp_path / "p"
    _pickle(path)
    assert _scan(path, want_sha256=False).sha256 is None


def test_results_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "p"
    path.write_bytes(_evil_bytes())
    result = _scan(path)
    assert not result.clean and result.findings
    again = FileResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result
    assert pickle.loads(pickle.dumps(result)) == result
    assert set(result.to_dict()) == {
        "file",
        "clean",
        "findings",
        "errors",
        "sha256",
        "format",
        "size",
    }


def test_magic_numbers_inside_raw_data_are_chance(tmp_path: Path) -> None:
    """Tensor bytes, or a member, that happen to start like gzip, zstd or 7z
    are read as before, not as broken compressed streams."""
    torch = pytest.importorskip("torch")
    for magic in (b"\x1f\x8b\x08\x00", b"\x28\xb5\x2f\xfd", b"7z\xbc\xaf\x27\x1c"):
        raw = torch.tensor(list(magic + bytes(60)), dtype=torch.uint8)
        torch.save({"w": raw}, tmp_path / "m.pt")
        result = _scan(tmp_path / "m.pt")
        assert (result.format, result.clean) == ("torch-zip", True), result
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as archive:
        archive.writestr("weights.bin", b"\x1f\x8b\x08\x00" + os.urandom(100))
    result = _scan(tmp_path / "z.zip")
    assert result.clean, result
