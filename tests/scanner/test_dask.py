"""Scanning on a real Dask cluster gives the local scan's report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.hubtree import make_tree

from emulpickle.scanner.engine import is_dask_client, scan_paths

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=None,
        memory_limit="1GiB",
    )
    dask_client = distributed.Client(cluster, timeout="60s")
    try:
        yield dask_client
    finally:
        dask_client.close()
        cluster.close()


def _report(results: Any) -> list[dict[str, Any]]:
    return sorted((r.to_dict() for r in results), key=lambda d: d["file"])


def test_scan_paths_on_dask(client: Any, tmp_path: Path) -> None:
    root = tmp_path / "hub"
    make_tree(root)
    assert is_dask_client(client)
    assert not is_dask_client(object())
    local = _report(scan_paths([str(root)], jobs=1, cache=False))
    remote = _report(scan_paths([str(root)], executor=client, cache=False))
    assert remote == local
    assert any(not d["clean"] for d in remote)


def test_cli_on_dask(client: Any, tmp_path: Path) -> None:
    root = tmp_path / "hub"
    make_tree(root)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg"))

    def scan(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "emulpickle",
                "scan",
                "--json",
                "--no-cache",
                *extra,
                str(root),
            ],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            timeout=180,
        )

    local = scan("--jobs", "1")
    remote = scan("--dask", client.scheduler.address)
    assert remote.returncode == local.returncode == 1, remote.stderr
    assert json.loads(remote.stdout) == json.loads(local.stdout)
