"""``emulpickle.open_file``: files written by the real tools, recognised by
their contents (never their names) and loaded; what is not loadable gets an
error saying what the file is."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import pickle
import random
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest
from helpers import paths

import emulpickle
from emulpickle.files import plugins as file_plugins

CONFIG = {"lr": 0.1, "layers": [1, 2, 3], "name": "tiny", "flags": (True, None)}


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------- pickles


def test_a_pickle_from_a_path_bytes_and_file_objects(tmp_path: Path) -> None:
    path = tmp_path / "config.bin"  # no telling extension: contents decide
    with open(path, "wb") as f:
        pickle.dump(CONFIG, f)
    for source in (path, str(path), path.read_bytes(), io.BytesIO(path.read_bytes())):
        opened = emulpickle.open_file(source)
        assert opened.format == "pickle"
        assert opened.compression is None
        assert opened.value == CONFIG
    with open(path, "rb") as f:
        opened = emulpickle.open_file(f)
    assert (opened.value, opened.name) == (CONFIG, str(path))


def test_stacked_pickles_are_all_loaded(tmp_path: Path) -> None:
    path = tmp_path / "log.pkl"
    with open(path, "wb") as f:
        for protocol in (0, 2, 5):
            pickle.dump({"protocol": protocol}, f, protocol=protocol)
    opened = emulpickle.open_file(path)
    assert opened.format == "pickles"
    assert opened.value == [{"protocol": 0}, {"protocol": 2}, {"protocol": 5}]


def test_bytes_after_the_last_pickle_are_an_error_at_their_offset(
    tmp_path: Path,
) -> None:
    first = pickle.dumps([1, 2], protocol=2)
    path = write(tmp_path, "p.pkl", first + b"\xffjunk")
    with pytest.raises(emulpickle.UnpicklingError) as info:
        emulpickle.open_file(path)
    assert info.value.offset == len(first)


def test_options_pass_through(tmp_path: Path) -> None:
    path = write(tmp_path, "e.pkl", pickle.dumps(ValueError("boom")))
    with pytest.raises(emulpickle.ForbiddenGlobalError):
        emulpickle.open_file(path)
    opened = emulpickle.open_file(path, unknown="generic")
    assert isinstance(opened.value, emulpickle.GenericObject)


def test_a_pickle_naming_os_system_does_not_run(tmp_path: Path) -> None:
    canary = tmp_path / "ran"
    path = write(tmp_path, "evil.pkl", f"cos\nsystem\n(S'touch {canary}'\ntR.".encode())
    with pytest.raises(emulpickle.ForbiddenGlobalError):
        emulpickle.open_file(path)
    emulpickle.open_file(path, unknown="generic")
    assert not canary.exists()


# -------------------------------------------------------------- compressed


def _xz(data: bytes) -> bytes:
    return lzma.compress(data, format=lzma.FORMAT_XZ)


def _lzma(data: bytes) -> bytes:
    return lzma.compress(data, format=lzma.FORMAT_ALONE)


@pytest.mark.parametrize(
    ("kind", "compress"),
    [
        ("gzip", gzip.compress),
        ("bz2", bz2.compress),
        ("xz", _xz),
        ("lzma", _lzma),
        ("zlib", zlib.compress),
    ],
)
def test_compressed_pickles(tmp_path: Path, kind: str, compress: object) -> None:
    assert callable(compress)
    path = write(tmp_path, "data", compress(pickle.dumps(CONFIG)))
    opened = emulpickle.open_file(path)
    assert (opened.format, opened.compression, opened.value) == (
        "pickle",
        kind,
        CONFIG,
    )


def test_gzip_open_written_stacked_pickles(tmp_path: Path) -> None:
    path = tmp_path / "log.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(1, f)
        pickle.dump([2], f)
    opened = emulpickle.open_file(path)
    assert (opened.format, opened.compression, opened.value) == (
        "pickles",
        "gzip",
        [1, [2]],
    )


def test_zstd(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    data = zstandard.ZstdCompressor().compress(pickle.dumps(CONFIG))
    opened = emulpickle.open_file(write(tmp_path, "d.zst", data))
    assert (opened.compression, opened.value) == ("zstd", CONFIG)


def test_one_level_of_compression_only(tmp_path: Path) -> None:
    path = write(tmp_path, "d", gzip.compress(bz2.compress(pickle.dumps(1))))
    with pytest.raises(emulpickle.FileFormatError, match="one level") as info:
        emulpickle.open_file(path)
    assert info.value.format == "bz2"


def test_corrupt_compressed_data(tmp_path: Path) -> None:
    data = gzip.compress(pickle.dumps(list(range(1000))))
    path = write(tmp_path, "d.gz", data[:-30])
    with pytest.raises(emulpickle.FileFormatError, match="gzip") as info:
        emulpickle.open_file(path)
    assert info.value.format == "gzip"


def test_decompression_is_bounded() -> None:
    bomb = bz2.compress(b"\0" * (8 << 20))
    limits = emulpickle.Limits(max_inflate_ratio=2)
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.open_file(bomb, limits=limits)
    assert info.value.limit == "max_inflate_ratio"
    limits = emulpickle.Limits(max_inflated_bytes=1 << 20)
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.open_file(gzip.compress(b"\0" * (2 << 20)), limits=limits)
    assert info.value.limit == "max_inflated_bytes"


# ------------------------------------------------------------------- numpy


def test_npy_plain_and_object(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("emulpickle_numpy")
    array = np.arange(12, dtype="<f4").reshape(3, 4)
    np.save(tmp_path / "a.npy", array)
    opened = emulpickle.open_file(tmp_path / "a.npy")
    assert opened.format == "npy"
    assert opened.npy_header is not None and opened.npy_header.shape == (3, 4)
    np.testing.assert_array_equal(opened.value, array)
    objects = np.empty(3, dtype=object)
    objects[:] = [{"x": 1}, "text", [1, 2]]
    np.save(tmp_path / "o.npy", objects, allow_pickle=True)
    opened = emulpickle.open_file((tmp_path / "o.npy").read_bytes())
    assert opened.format == "npy"
    assert list(opened.value) == [{"x": 1}, "text", [1, 2]]  # type: ignore[call-overload]


def test_npz(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("emulpickle_numpy")
    objects = np.empty(2, dtype=object)
    objects[:] = [{"k": "v"}, (1, 2)]
    arrays = {"weights": np.ones((2, 3)), "ids": np.arange(4), "objects": objects}
    for save in (np.savez, np.savez_compressed):
        path = tmp_path / f"{save.__name__}.npz"
        save(path, **arrays)
        opened = emulpickle.open_file(path)
        assert opened.format == "npz"
        value = opened.value
        assert isinstance(value, dict) and list(value) == list(arrays)
        np.testing.assert_array_equal(value["weights"], arrays["weights"])
        np.testing.assert_array_equal(value["ids"], arrays["ids"])
        assert list(value["objects"]) == [{"k": "v"}, (1, 2)]


def test_object_arrays_in_npz_are_loaded_by_emulpickle(tmp_path: Path) -> None:
    """An object member is a pickle: loaded with the caller's options (its
    os.system is refused, or generic), never run."""
    canary = tmp_path / "ran"
    payload = f"cos\nsystem\n(S'touch {canary}'\ntR.".encode()
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += " " * (117 - len(header)) + "\n"
    member = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x.npy", member + payload)
    with pytest.raises(emulpickle.ForbiddenGlobalError):
        emulpickle.open_file(path)
    opened = emulpickle.open_file(path, unknown="generic")
    assert isinstance(opened.value, dict)
    assert isinstance(opened.value["x"], emulpickle.GenericObject)
    assert not canary.exists()


# ------------------------------------------------------------------- torch


def test_torch_checkpoints(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("emulpickle_torch")
    state = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "step": 7}
    torch.save(state, tmp_path / "new.pt")
    torch.save(state, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    for name, kind in (("new.pt", "torch-zip"), ("old.pt", "torch-legacy")):
        opened = emulpickle.open_file(tmp_path / name)
        assert opened.format == kind
        value = opened.value
        assert isinstance(value, dict) and value["step"] == 7
        assert value["w"].numpy().tolist() == state["w"].tolist()
    # Inside a gzip wrapper, from memory.
    packed = gzip.compress((tmp_path / "new.pt").read_bytes())
    opened = emulpickle.open_file(packed)
    assert (opened.format, opened.compression) == ("torch-zip", "gzip")
    assert opened.value["w"].numpy().tolist() == state["w"].tolist()  # type: ignore[index]


def test_the_bundled_example_checkpoint() -> None:
    pytest.importorskip("emulpickle_torch")
    opened = emulpickle.open_file(paths.REPO_ROOT / "examples" / "checkpoint.pt")
    assert opened.format == "torch-zip"
    value = opened.value
    assert isinstance(value, dict)
    assert set(value) == {"model", "optimizer", "epoch", "step", "config"}
    assert value["model"]["embed.weight"].shape == (64, 16)


def test_the_bundled_checkpoint_is_what_make_examples_writes(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.__version__.split("+")[0] != "2.13.0":
        pytest.skip("examples/checkpoint.pt is written by torch 2.13.0")
    script = str(paths.REPO_ROOT / "examples" / "make_examples.py")
    code = (
        "import runpy, sys; from pathlib import Path\n"
        f"m = runpy.run_path({script!r})\n"
        "m['torch_checkpoint'](Path(sys.argv[1]))\n"
    )
    target = tmp_path / "checkpoint.pt"
    subprocess.run([sys.executable, "-c", code, str(target)], check=True, timeout=300)
    expected = (paths.REPO_ROOT / "examples" / "checkpoint.pt").read_bytes()
    assert target.read_bytes() == expected
    assert 4_000 < len(expected) < 100_000


def test_a_tar_that_is_not_a_torch_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "t.tar"
    with tarfile.open(path, "w") as tar:
        tar.add(write(tmp_path, "note.txt", b"hello"), arcname="note.txt")
    with pytest.raises(emulpickle.FileFormatError, match="tar archive") as info:
        emulpickle.open_file(path)
    assert info.value.format == "tar"


def test_a_zip_that_is_neither_torch_nor_npz(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(emulpickle.FileFormatError, match="neither") as info:
        emulpickle.open_file(path)
    assert info.value.format == "zip"


# ------------------------------------------------------------------ joblib


def test_joblib_files(tmp_path: Path) -> None:
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    pytest.importorskip("emulpickle_numpy")
    plain = tmp_path / "plain.joblib"
    joblib.dump(CONFIG, plain)  # no arrays: a pickle
    assert emulpickle.open_file(plain).value == CONFIG
    assert emulpickle.open_file(plain).format == "pickle"
    for compress in (0, 3, ("gzip", 3), ("xz", 1)):
        path = tmp_path / "model.joblib"
        joblib.dump({"coef": np.arange(5.0)}, path, compress=compress)
        for unknown in ("error", "generic"):
            opened = emulpickle.open_file(path, unknown=unknown)
            assert opened.format == "joblib"
            np.testing.assert_array_equal(opened.value["coef"], np.arange(5.0))


# --------------------------------------------------------- what it is not


def _safetensors_file() -> bytes:
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    ).encode()
    return struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1, 2)


@pytest.mark.parametrize(
    ("data", "kind", "says"),
    [
        (b"", "empty", "an empty file"),
        (b"hello world\nthis is text\n", "text", "a text file, not a pickle"),
        ("# Überschrift\n\nText.\n".encode(), "text", "a text file, not a pickle"),
        (b'{"a": 1}\n', "text", "a text file, not a pickle"),
        (_safetensors_file(), "safetensors", "a safetensors file (no pickle in it"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24), "7z", "a 7z archive"),
        (b"\x89HDF\r\n\x1a\n" + bytes(64), "hdf5", "an HDF5 file"),
        (random.Random(1).randbytes(4096), "unknown", "not a pickle"),
    ],
)
def test_what_is_not_a_pickle_is_named(
    tmp_path: Path, data: bytes, kind: str, says: str
) -> None:
    path = write(tmp_path, "file.pkl", data)
    with pytest.raises(emulpickle.FileFormatError) as info:
        emulpickle.open_file(path)
    assert info.value.format == kind
    assert str(info.value).startswith(says), str(info.value)
    assert "memo value not found" not in str(info.value)
    assert "invalid load key" not in str(info.value) or kind == "unknown"
    assert isinstance(info.value, emulpickle.UnpicklingError)


def test_a_damaged_pickle_keeps_its_own_error(tmp_path: Path) -> None:
    data = pickle.dumps(list(range(100)), protocol=4)
    with pytest.raises(emulpickle.TruncatedError):
        emulpickle.open_file(write(tmp_path, "cut.pkl", data[:-20]))


# ----------------------------------------------------------------- plugins


def test_a_torch_checkpoint_without_the_plugin_says_how_to_install_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"step": 1}, protocol=2))
    code = (
        "import sys, json, warnings\n"
        "sys.modules['emulpickle_torch'] = None\n"
        "warnings.simplefilter('ignore')\n"
        "import emulpickle\n"
        "try:\n"
        f"    emulpickle.open_file({str(path)!r})\n"
        "except emulpickle.PluginRequiredError as exc:\n"
        "    print(json.dumps([exc.format, exc.plugin, exc.install, str(exc)]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    kind, plugin, install, message = json.loads(proc.stdout)
    assert (kind, plugin) == ("torch-zip", "torch")
    assert message.endswith(install)
    _assert_installs(install, "emulpickle-torch")


def _assert_installs(command: str, distribution: str) -> None:
    """``command`` is ``pip install DIR`` with DIR the plugin's project
    (relative to the clone's root if relative)."""
    words = command.split()
    assert words[:2] == ["pip", "install"], command
    directory = Path(words[2])
    if not directory.is_absolute():
        directory = paths.REPO_ROOT / directory
    project = (directory / "pyproject.toml").read_text()
    assert f'name = "{distribution}"' in project


def test_install_command_without_a_clone(monkeypatch: pytest.MonkeyPatch) -> None:
    file_plugins.install_command.cache_clear()
    monkeypatch.setattr(file_plugins, "_clone_roots", lambda: [])
    try:
        command = file_plugins.install_command("numpy")
    finally:
        file_plugins.install_command.cache_clear()
    assert command.startswith("pip install ./plugins/emulpickle-numpy ")
    _assert_installs(command, "emulpickle-numpy")


def test_install_command_from_a_clone() -> None:
    for name in ("torch", "numpy"):
        _assert_installs(emulpickle.files.install_command(name), f"emulpickle-{name}")


def test_standard_input(tmp_path: Path) -> None:
    path = write(tmp_path, "d.pkl", gzip.compress(pickle.dumps(CONFIG)))
    code = (
        "import sys, emulpickle\n"
        "opened = emulpickle.open_file(sys.stdin.buffer)\n"
        "print(opened.format, opened.compression, opened.value == "
        f"{CONFIG!r})\n"
    )
    with open(path, "rb") as stdin:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            env=dict(os.environ),
        )
    assert proc.stdout.split() == ["pickle", "gzip", "True"], proc.stderr
