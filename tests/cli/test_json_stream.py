"""``emulpickle json``: plain trees by the C encoder, tensor data streamed and
bounded by ``--max-bytes``.

Files are written by pickle.dump, numpy.save and torch.save; the output
must be what ``emulpickle.to_builtins`` gives, whichever writer wrote it.
"""

from __future__ import annotations

import io
import json
import pickle
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.cli_runner import assert_error, run
from hypothesis import given, settings
from hypothesis import strategies as st

import emulpickle
from emulpickle.cli import main
from emulpickle.cli.jsonwrite import dump_plain, is_plain, iter_json

# -------------------------------------------------------- plain writer

_keys = st.text(alphabet='ab}{"\n$é', max_size=4)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet='xy}{"\n\\é,:', max_size=6),
)
_trees = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(_keys, children, max_size=5),
        # Records: lists of flat dicts take the writer's batched path.
        st.lists(st.dictionaries(_keys, _scalars, min_size=1, max_size=3), max_size=6),
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(tree=_trees, indent=st.sampled_from([None, 1, 2, 4]))
def test_plain_writer_writes_what_the_general_writer_writes(
    tree: Any, indent: int | None
) -> None:
    expected = "".join(iter_json(emulpickle.to_builtins(tree), indent)) + "\n"
    if not is_plain(tree):  # "$" keys: to_builtins encodes those dicts
        assert any(k.startswith("$") for k in _all_keys(tree))
        return
    out = io.StringIO()
    dump_plain(tree, out, indent)
    assert out.getvalue() == expected


def _all_keys(tree: Any) -> list[str]:
    keys: list[str] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            keys.extend(node)
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return keys


def test_what_is_not_plain() -> None:
    shared = [1]
    long_text = "x" * 100
    assert is_plain([{"id": 1, "s": "t", "f": 0.5}] * 1 + [(), ()])
    assert not is_plain([shared, shared])  # to_builtins writes "$id" / "$ref"
    assert not is_plain([long_text, long_text])
    assert not is_plain({"$type": 1})
    assert is_plain({"$type": 1}, encoded=True)
    assert not is_plain([float("nan")])
    assert not is_plain({1: "int key"})
    assert not is_plain([2**20_000])
    assert not is_plain([bytearray(b"x")])
    deep: Any = []
    for _ in range(1000):
        deep = [deep]
    assert not is_plain(deep)  # left to the iterative writer


def _records(n: int) -> list[dict[str, object]]:
    return [{"id": i, "name": f"n{i}", "score": i * 0.5} for i in range(n)]


@pytest.mark.parametrize("indent", ["2", "0"])
def test_json_of_records_file(
    tmp_path: Path,
    indent: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The issue's 1M-record pickle, smaller: the same text as to_builtins +
    the general writer give, written without a to_builtins pass (which made
    it 20 times slower than the load)."""
    records = _records(20_000)
    records[7]["nested"] = {"deep": [1, {"x": None}], "t": (1, 2)}  # type: ignore[assignment]
    path = tmp_path / "records.pkl"
    path.write_bytes(pickle.dumps(records))
    shared = {"k": [1, 2]}
    special = {"a": shared, "b": shared, "$x": 1, "nan": float("nan"), "raw": b"\x00"}
    other = tmp_path / "special.pkl"
    other.write_bytes(pickle.dumps(special))
    width = int(indent) or None
    expected = {
        file: "".join(iter_json(emulpickle.to_builtins(obj), width)) + "\n"
        for file, obj in ((path, records), (other, pickle.loads(other.read_bytes())))
    }
    calls: list[object] = []
    real = emulpickle.to_builtins

    def counting(obj: object, **options: Any) -> object:
        calls.append(obj)
        return real(obj, **options)

    monkeypatch.setattr(emulpickle, "to_builtins", counting)
    assert main(["json", "--indent", indent, str(path)]) == 0
    assert capsys.readouterr().out == expected[path]
    assert calls == []
    # Shared objects, "$" keys, nan, bytes: to_builtins's encoding.
    assert main(["json", "--indent", indent, str(other)]) == 0
    assert capsys.readouterr().out == expected[other]
    assert len(calls) == 1


# ------------------------------------------------ --with-data, --max-bytes


def test_max_bytes_refuses_big_data(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    path = tmp_path / "big.npy"
    np.save(path, np.arange(50_000, dtype=np.float64))  # 400,000 bytes
    proc = run("json", "--with-data", "--max-bytes", "100000", path)
    assert_error(proc, 2)
    assert "--max-bytes" in proc.stderr and "400000" in proc.stderr
    assert proc.stdout == ""
    # Without --with-data nothing is refused: only the summary is written.
    summary = json.loads(run("json", "--max-bytes", "10", path).stdout)
    assert summary == {
        "$tensor": {"dtype": "float64", "shape": [50000], "device": "cpu"}
    }
    # Raised or lifted, the data is written.
    for limit in ("400000", "0"):
        proc = run("json", "--with-data", "--max-bytes", limit, "--indent", "0", path)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == np.arange(50_000, dtype=np.float64).tolist()


def test_max_bytes_default_and_convert_hint(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("emulpickle_torch")
    path = tmp_path / "big.pt"
    weight = torch.zeros(4, 1024, 1024, dtype=torch.float32)  # 16 MiB, shared
    torch.save({"a": weight, "b": weight, "c": weight, "d": weight, "e": weight}, path)
    proc = run("json", "--with-data", path)  # 80 MiB written: over 64 MiB
    assert_error(proc, 2)
    assert f"emulpickle convert {path} out.npz" in proc.stderr
    small = tmp_path / "small.pt"
    values = torch.tensor([[1.5, float("nan")], [float("inf"), -0.0]])
    torch.save({"w": values, "bf": values.to(torch.bfloat16)}, small)
    proc = run("json", "--with-data", small)
    assert proc.returncode == 0, proc.stderr
    nan = {"$type": "float", "value": "nan"}
    inf = {"$type": "float", "value": "inf"}
    assert json.loads(proc.stdout) == {
        "w": [[1.5, nan], [inf, -0.0]],
        "bf": [[1.5, nan], [inf, -0.0]],
    }


_CHILD = """
import resource, sys
from emulpickle.cli import main
status = main(["json", "--with-data", "--max-bytes", "0", "--indent", "0", sys.argv[1]])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(status, peak, file=sys.stderr)
"""


def test_with_data_streams(tmp_path: Path) -> None:
    """48 MiB of floats (as Python lists: about 300 MiB; as JSON text: about
    100 MB) written with a flat peak: the values are converted a block of
    rows at a time and written as they are produced."""
    np = pytest.importorskip("numpy")
    path = tmp_path / "data.npy"
    np.save(path, np.linspace(0, 1, 6 << 20).reshape(-1, 1024))
    baseline = tmp_path / "tiny.npy"
    np.save(baseline, np.zeros((2, 1024)))
    peaks = []
    for file in (baseline, path):
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
        status, peak = proc.stderr.split()[-2:]
        assert status == "0", proc.stderr
        peaks.append(int(peak) * (1 if sys.platform == "darwin" else 1024))
    # The file is memory-mapped, and a few blocks of values are alive at once.
    assert peaks[1] - peaks[0] < 120 << 20, peaks
    assert resource  # the child measures with resource as well
