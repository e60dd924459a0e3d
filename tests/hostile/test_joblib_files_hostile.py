"""Hostile joblib files through ``emulpickle.open_file``: each in a child
process with a bounded address space, with a canary file that an
``os.system`` payload would create."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

joblib = pytest.importorskip("joblib")
np = pytest.importorskip("numpy")
pytest.importorskip("emulpickle_numpy")

MB = 1 << 20
ADDRESS_SPACE = 768 * MB  # numpy and the plugins fit; the claims below do not
TIMEOUT = 120  # a hang guard, not a speed requirement
#: BININT1 2, TUPLE1: the shape (2,) as a protocol-2 joblib.dump writes it.
SHAPE_2 = b"K\x02\x85"

CHILD = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]),) * 2)
import emulpickle
limits = emulpickle.Limits(**json.loads(sys.argv[4]))
out = {}
try:
    emulpickle.open_file(sys.argv[2], unknown=sys.argv[3], limits=limits)
    out["outcome"] = "loaded"
except emulpickle.UnpicklingError as exc:
    out.update(outcome=type(exc).__name__, limit=getattr(exc, "limit", None),
               message=str(exc))
except BaseException as exc:
    out.update(outcome="unexpected " + type(exc).__name__, message=repr(exc)[:300])
print(json.dumps(out))
"""


def _run(path: Path, unknown: str = "error", **limits: int) -> dict[str, Any]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(ADDRESS_SPACE),
            str(path),
            unknown,
            json.dumps(limits),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def _small_dump(tmp_path: Path) -> bytes:
    path = tmp_path / "small.joblib"
    joblib.dump({"a": np.arange(2, dtype=np.float64)}, path, protocol=2)
    data = path.read_bytes()
    assert data.count(SHAPE_2) == 1
    return data


@pytest.mark.parametrize("copy", [False, True], ids=["mapped", "compressed"])
def test_shape_claiming_more_than_the_file_is_refused(
    tmp_path: Path, copy: bool
) -> None:
    # (2**27, 2**27) float64: 128 PiB claimed, 16 bytes present.
    claim = b"J\x00\x00\x00\x08J\x00\x00\x00\x08\x86"
    data = _small_dump(tmp_path).replace(SHAPE_2, claim)
    path = tmp_path / "claim.joblib"
    path.write_bytes(zlib.compress(data) if copy else data)
    result = _run(path)
    assert result["outcome"] == "UnpicklingError", result
    assert "runs past the end of the data" in result["message"]


def test_object_array_payload_is_refused(tmp_path: Path) -> None:
    from tests.files.test_joblib_files import nested_pickle_span

    canary = tmp_path / "ran"
    path = tmp_path / "objects.joblib"
    joblib.dump(np.array([None, 1], dtype=object), path, protocol=2)
    data = path.read_bytes()
    start, end = nested_pickle_span(data)
    payload = f"cos\nsystem\n(S'touch {canary}'\ntR.".encode()
    path.write_bytes(data[:start] + payload + data[end:])
    result = _run(path)
    assert result["outcome"] == "ForbiddenGlobalError", result
    assert "os.system" in result["message"]
    generic = _run(path, "generic")
    assert generic["outcome"] == "EmulationError", generic
    assert "object array" in generic["message"]
    assert not canary.exists()


def test_compressed_joblib_bomb_is_refused(tmp_path: Path) -> None:
    """A zlib joblib file whose array (1 GiB of zeros, 2**27 float64)
    inflates far past the limit: refused while inflating."""
    data = _small_dump(tmp_path)
    # The stream up to the array's bytes (its padding included).
    head = data[: data.index(np.arange(2, dtype=np.float64).tobytes())]
    head = head.replace(SHAPE_2, b"J\x00\x00\x00\x08\x85")
    packer = zlib.compressobj(1)
    parts = [packer.compress(head)]
    zeros = bytes(16 * MB)
    for _ in range(64):
        parts.append(packer.compress(zeros))
    parts.append(packer.flush())
    path = tmp_path / "bomb.joblib"
    path.write_bytes(b"".join(parts))
    result = _run(path, max_inflated_bytes=64 * MB)
    assert result["outcome"] == "LimitExceededError", result
    assert result["limit"] == "max_inflated_bytes"


def test_compressed_array_is_bounded_by_the_inflation_limits(tmp_path: Path) -> None:
    """A real array larger than max_emulator_alloc, copied from a compressed
    stream: bounded by the inflation limits (it holds exactly the bytes the
    stream inflated to), not by the allocation bound."""
    path = tmp_path / "big.joblib"
    joblib.dump({"a": np.zeros(1 << 18)}, path, compress=3)  # 2 MiB
    result = _run(path, max_emulator_alloc=1 << 20)
    assert result["outcome"] == "loaded", result
    result = _run(path, max_inflated_bytes=1 << 20)
    assert result["outcome"] == "LimitExceededError", result
    assert result["limit"] == "max_inflated_bytes"
