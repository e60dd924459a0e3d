"""Decompression bombs through ``emulpickle.open_file`` (and ``emulpickle
show``): refused with ``LimitExceededError`` naming the Limits field, in a
child process whose address space is bounded, before any pickle inside runs
(its ``os.system`` payload would create a canary file)."""

from __future__ import annotations

import bz2
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

MB = 1 << 20
#: The child's address space: far less than the bombs inflate to.
ADDRESS_SPACE = 384 * MB
#: What the bombs inflate to.
INFLATED = 1024 * MB
TIMEOUT = 120  # a hang guard, not a speed requirement

CHILD = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]),) * 2)
import emulpickle
limits = emulpickle.Limits(**json.loads(sys.argv[3]))
out = {}
try:
    emulpickle.open_file(sys.argv[2], unknown="generic", limits=limits,
                         registry=emulpickle.default_registry())
    out["outcome"] = "loaded"
except emulpickle.UnpicklingError as exc:
    out.update(outcome=type(exc).__name__, limit=getattr(exc, "limit", None),
               message=str(exc))
except BaseException as exc:
    out.update(outcome="unexpected " + type(exc).__name__, message=repr(exc)[:300])
print(json.dumps(out))
"""


def _payload(canary: Path) -> bytes:
    """A pickle that would create ``canary`` if anything ran it."""
    return f"cos\nsystem\n(S'touch {canary}'\ntR.".encode()


def _gzip_bomb(canary: Path) -> bytes:
    """A gzip stream (as ``gzip.open`` writes) of a payload and then
    :data:`INFLATED` zero bytes, compressed in pieces (never held whole)."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    parts = [packer.compress(_payload(canary))]
    zeros = bytes(16 * MB)
    for _ in range(INFLATED // len(zeros)):
        parts.append(packer.compress(zeros))
    parts.append(packer.flush())
    return b"".join(parts)


def _bz2_bomb(canary: Path) -> bytes:
    """bz2 streams one after another (``bz2.open`` reads them all): the
    payload, then one stream of zeros repeated to :data:`INFLATED` bytes."""
    zeros = bz2.compress(bytes(16 * MB))
    return bz2.compress(_payload(canary)) + zeros * (INFLATED // (16 * MB))


def _run(path: Path, limits: dict[str, int]) -> dict[str, Any]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(ADDRESS_SPACE),
            str(path),
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


@pytest.mark.parametrize(
    ("make", "limits", "limit"),
    [
        # deflate reaches ~1030:1, under the default ratio: the total bounds it.
        (_gzip_bomb, {"max_inflated_bytes": 64 * MB}, "max_inflated_bytes"),
        # bz2 reaches far more: the default ratio bounds it.
        (_bz2_bomb, {}, "max_inflate_ratio"),
    ],
    ids=["gzip", "bz2"],
)
def test_bomb_is_refused_in_bounded_memory(
    tmp_path: Path, make: Any, limits: dict[str, int], limit: str
) -> None:
    canary = tmp_path / "ran"
    path = tmp_path / "bomb.pkl.gz"
    path.write_bytes(make(canary))
    assert path.stat().st_size < INFLATED // 100
    result = _run(path, limits)
    assert result["outcome"] == "LimitExceededError", result
    assert result["limit"] == limit
    assert "decompression bomb" in result["message"]
    assert not canary.exists()
