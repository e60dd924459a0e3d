"""joblib files beyond the current format's basics: lz4, joblib < 0.10's
multi-file format (committed fixtures, see fixtures/joblib09/generate.py),
arrays in the other byte order, and compressed arrays beyond
``max_emulator_alloc``. Each is compared with ``joblib.load`` of the same
file (safe to call only because the test wrote the file itself, or the
fixture is ours)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest

import emulpickle
from emulpickle.cli import main
from emulpickle.formats.compressed import LZ4_INSTALL

joblib = pytest.importorskip("joblib")
np = pytest.importorskip("numpy")
pytest.importorskip("emulpickle_numpy")

FIXTURES = Path(__file__).parent / "fixtures" / "joblib09"
#: Each fixture: what open_file says it is (inline.pkl, arrays inside the
#: pickle, is a plain pickle in joblib's old zlib file).
OLD_FILES = {
    "plain.pkl": ("joblib", None),
    "zipped.pkl": ("joblib", "compat"),
    "inline.pkl": ("pickle", "compat"),
}
ROOT = Path(__file__).resolve().parents[2]
SMALL = emulpickle.Limits(max_emulator_alloc=1 << 20)


def _assert_equal(got: Any, want: Any) -> None:
    """Equal values, arrays of the same dtype (byte order included), shape
    and memory order."""
    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray)
        assert got.dtype == want.dtype and got.dtype.str == want.dtype.str
        assert got.shape == want.shape
        assert got.flags.f_contiguous == want.flags.f_contiguous
        np.testing.assert_array_equal(got, want)
    elif isinstance(want, dict):
        assert got.keys() == want.keys()
        for key in want:
            _assert_equal(got[key], want[key])
    else:
        assert got == want and type(got) is type(want)


def _old_load(path: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joblib's deprecation of the format
        return joblib.load(path)


def _child(code: str, *, memory: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child (60 s hang guard), address space bounded."""
    prelude = ""
    if memory is not None:
        prelude = (
            "import resource\n"
            f"resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))\n"
        )
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )


# ---------------------------------------------------------------- lz4


def test_lz4_loads_like_joblib(tmp_path: Path) -> None:
    pytest.importorskip("lz4")
    value = {"a": np.arange(50.0), "be": np.arange(4, dtype=">i4"), "s": "x"}
    path = tmp_path / "model.joblib"
    joblib.dump(value, path, compress="lz4")
    opened = emulpickle.open_file(path)
    assert (opened.format, opened.compression) == ("joblib", "lz4")
    _assert_equal(opened.value, joblib.load(path))
    # By extension too (joblib picks lz4 from ".lz4").
    other = tmp_path / "model.pkl.lz4"
    joblib.dump(value, other)
    _assert_equal(emulpickle.open_file(other).value, joblib.load(other))


def test_lz4_without_the_package_names_the_extra(tmp_path: Path) -> None:
    pytest.importorskip("lz4")
    path = tmp_path / "model.joblib"
    joblib.dump({"a": np.arange(3.0)}, path, compress="lz4")
    result = _child(
        f"""
        import sys
        sys.modules["lz4"] = None  # as if lz4 were not installed
        import emulpickle
        try:
            emulpickle.open_file({str(path)!r})
        except emulpickle.UnpicklingError as exc:
            print(type(exc).__name__, exc.format, exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("FileFormatError lz4 ")
    assert LZ4_INSTALL in result.stdout


def test_lz4_bomb_is_bounded(tmp_path: Path) -> None:
    lz4_frame = pytest.importorskip("lz4.frame")
    path = tmp_path / "bomb.joblib"
    path.write_bytes(lz4_frame.compress(b"\0" * (8 << 20)))
    limits = emulpickle.Limits(max_inflated_bytes=2 << 20)
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.open_file(path, limits=limits)
    assert info.value.limit == "max_inflated_bytes"


def test_scan_reads_lz4(tmp_path: Path) -> None:
    pytest.importorskip("lz4")
    path = tmp_path / "evil.joblib"
    joblib.dump({"a": np.array([os.system], dtype=object)}, path, compress="lz4")
    report = emulpickle.scan(path)
    assert not report.errors
    assert any(f.name == "system" for f in report.findings)


# ------------------------------------------------------ joblib < 0.10


@pytest.mark.parametrize("name", OLD_FILES)
def test_old_format_loads_like_joblib(name: str) -> None:
    opened = emulpickle.open_file(FIXTURES / name)
    assert (opened.format, opened.compression) == OLD_FILES[name]
    _assert_equal(opened.value, _old_load(FIXTURES / name))


def test_old_format_cli_show_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    for name in OLD_FILES:
        assert main(["show", str(FIXTURES / name)]) == 0
        assert "big_endian" in capsys.readouterr().out
        assert main(["json", str(FIXTURES / name)]) == 0
        assert '"fortran"' in capsys.readouterr().out


def _copy_old(tmp_path: Path, stem: str = "plain") -> Path:
    for item in FIXTURES.iterdir():
        if item.name.startswith(stem + ".pkl"):
            shutil.copy(item, tmp_path / item.name)
    return tmp_path / f"{stem}.pkl"


def test_old_format_sibling_names_are_checked(tmp_path: Path) -> None:
    main_file = _copy_old(tmp_path)
    data = main_file.read_bytes()
    assert data.count(b"plain.pkl_01.npy") == 1
    # Same length, so the pickle stays well formed: a name outside the
    # pattern (joblib.load would open it, relative or absolute).
    for bad in (b"../plain.pkl_1.n", b"/etc/hostname.np", b"plain.pkl_01.npz"):
        main_file.write_bytes(data.replace(b"plain.pkl_01.npy", bad))
        with pytest.raises(emulpickle.EmulationError, match="beside it are read"):
            emulpickle.open_file(main_file)
    # Renamed: the siblings no longer carry its name.
    main_file.write_bytes(data)
    renamed = tmp_path / "other.pkl"
    shutil.copy(main_file, renamed)
    with pytest.raises(emulpickle.EmulationError, match="beside it are read"):
        emulpickle.open_file(renamed)
    # From memory: no directory to read siblings from.
    with pytest.raises(emulpickle.EmulationError, match="open it by its path"):
        emulpickle.open_file(data)
    # A missing sibling.
    (tmp_path / "plain.pkl_02.npy").unlink()
    with pytest.raises(emulpickle.EmulationError, match=r"plain\.pkl_02\.npy"):
        emulpickle.open_file(main_file)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_old_format_fifo_sibling_is_refused_without_hanging(tmp_path: Path) -> None:
    main_file = _copy_old(tmp_path)
    (tmp_path / "plain.pkl_01.npy").unlink()
    os.mkfifo(tmp_path / "plain.pkl_01.npy")  # opening it would block
    result = _child(
        f"""
        import emulpickle
        try:
            emulpickle.open_file({str(main_file)!r})
        except emulpickle.EmulationError as exc:
            print("refused:", exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "not a regular file" in result.stdout


def test_old_format_zipped_sibling_is_bounded(tmp_path: Path) -> None:
    main_file = _copy_old(tmp_path, "zipped")
    import zlib

    sibling = tmp_path / "zipped.pkl_01.npy.z"
    size = 8 << 20
    sibling.write_bytes(
        b"ZF" + hex(size).encode().ljust(19) + zlib.compress(b"\0" * size, 9)
    )
    limits = emulpickle.Limits(max_inflated_bytes=2 << 20)
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.open_file(main_file, limits=limits)
    assert info.value.limit == "max_inflated_bytes"
    # Within the limits, but not the size its wrapper says.
    with pytest.raises(emulpickle.EmulationError, match="in a file holding"):
        emulpickle.open_file(main_file)


def test_scan_reads_old_format_siblings(tmp_path: Path) -> None:
    main_file = _copy_old(tmp_path)
    np.save(
        tmp_path / "plain.pkl_01.npy",
        np.array([os.system], dtype=object),
        allow_pickle=True,
    )
    report = emulpickle.scan(main_file)
    assert any(f.name == "system" for f in report.findings), report
    # The compressed fixture: its raw .z siblings hold no pickle, no errors.
    report = emulpickle.scan(FIXTURES / "zipped.pkl")
    assert not report.errors, report.errors


def test_scan_reports_a_sibling_outside_the_directory(tmp_path: Path) -> None:
    inner = tmp_path / "d"
    inner.mkdir()
    main_file = _copy_old(inner)
    np.save(tmp_path / "x.npy", np.array([os.system], dtype=object), allow_pickle=True)
    data = main_file.read_bytes()
    # BINUNICODE (protocol 2) of the first sibling's name, to "../x.npy".
    name = b"X\x10\x00\x00\x00plain.pkl_01.npy"
    assert data.count(name) == 1
    main_file.write_bytes(data.replace(name, b"X\x08\x00\x00\x00../x.npy"))
    report = emulpickle.scan(main_file)
    assert any(f.name == "system" for f in report.findings), report
    assert any("outside" in e for e in report.errors), report.errors


# ----------------------------------------------------- byte order


@pytest.mark.parametrize("compress", [0, 3])
def test_other_byte_order_is_swapped_like_joblib(tmp_path: Path, compress: int) -> None:
    value = {
        "i4": np.arange(-3, 5, dtype=">i4"),
        "f8": np.linspace(0, 1, 7).astype(">f8"),
        "fortran": np.asfortranarray(np.arange(6, dtype=">i8").reshape(2, 3)),
        "record": np.array([(1, 2.5)], dtype=[("a", ">i4"), ("b", ">f8")]),
        "mixed": np.array([(1, 2.5)], dtype=[("a", ">i4"), ("b", "<f8")]),
        "native": np.arange(3, dtype="<u2"),
    }
    path = tmp_path / "be.joblib"
    joblib.dump(value, path, compress=compress)
    want = joblib.load(path)
    assert want["i4"].dtype.str == "<i4"  # joblib.load's own swap
    _assert_equal(emulpickle.open_file(path).value, want)
    _assert_equal(emulpickle.open_file(path.read_bytes()).value, want)


# ------------------------------------- compressed arrays beyond the alloc


def test_compressed_array_beyond_max_emulator_alloc_loads(tmp_path: Path) -> None:
    big = np.arange(300_000, dtype=np.float64)  # 2.4 MB > SMALL's 1 MiB
    path = tmp_path / "big.joblib"
    joblib.dump({"big": big}, path, compress=3)
    got = emulpickle.open_file(path, limits=SMALL).value["big"]
    np.testing.assert_array_equal(got, big)
    # Uncompressed bytes from memory are still copies within the limit.
    plain = tmp_path / "plain.joblib"
    joblib.dump({"big": big}, plain)
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.open_file(plain.read_bytes(), limits=SMALL)
    assert info.value.limit == "max_emulator_alloc"


def test_lying_compressed_header_allocates_nothing(tmp_path: Path) -> None:
    """A compressed file whose array header claims 2**40 float64s: refused
    with an error, in a child whose address space could not hold it."""
    path = tmp_path / "lie.joblib"
    joblib.dump({"a": np.arange(4, dtype=np.float64)}, path, compress=3, protocol=2)
    import zlib

    stream = zlib.decompress(path.read_bytes())
    shape = b"K\x04\x85"  # BININT1 4, TUPLE1
    assert stream.count(shape) == 1
    lie = stream.replace(shape, b"\x8a\x06" + (1 << 40).to_bytes(6, "little") + b"\x85")
    path.write_bytes(zlib.compress(lie))
    result = _child(
        f"""
        import emulpickle
        try:
            emulpickle.open_file({str(path)!r})
        except emulpickle.UnpicklingError as exc:
            print("refused:", type(exc).__name__, exc)
        """,
        memory=1 << 30,
    )
    assert result.returncode == 0, result.stderr
    assert "refused:" in result.stdout and "runs past the end" in result.stdout


def test_cli_show_json_lz4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("lz4")
    path = tmp_path / "m.joblib"
    joblib.dump({"coef": np.arange(3.0)}, path, compress="lz4")
    assert main(["show", str(path)]) == 0
    assert "coef" in capsys.readouterr().out
    assert main(["json", str(path)]) == 0
    assert '"coef"' in capsys.readouterr().out


def test_cli_convert_names_a_joblib_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """convert writes torch checkpoints' tensors only: a joblib file gets a
    message saying so (not the opcode its raw array bytes happen to be)."""
    pytest.importorskip("emulpickle_torch")
    path = tmp_path / "m.joblib"
    joblib.dump({"coef": np.arange(3.0)}, path)
    assert main(["convert", str(path), str(tmp_path / "out.npz")]) == 2
    assert "a joblib file, not a torch checkpoint" in capsys.readouterr().err
