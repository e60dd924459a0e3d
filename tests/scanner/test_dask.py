"""Scanning on a real Dask cluster gives the local scan's report.

Everything Dask runs in a child process: importing ``distributed`` changes
how the whole process pickles exceptions (tblib), which must not leak into
the other tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.hubtree import make_tree

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None,
    reason="distributed (the dask extra) is not installed",
)

CHILD = r"""
import json, subprocess, sys
import distributed
from emulpickle.scanner.engine import is_dask_client, scan_paths

root = sys.argv[1]

def report(results):
    return sorted((r.to_dict() for r in results), key=lambda d: d["file"])

def cli(*extra):
    proc = subprocess.run(
        [sys.executable, "-m", "emulpickle", "scan", "--json", "--no-cache",
         *extra, root],
        capture_output=True, text=True, check=False, timeout=120,
    )
    return proc.returncode, json.loads(proc.stdout), proc.stderr

if __name__ == "__main__":
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1,
        dashboard_address=None, memory_limit="1GiB",
    )
    client = distributed.Client(cluster, timeout="60s")
    try:
        assert is_dask_client(client) and not is_dask_client(object())
        local = report(scan_paths([root], jobs=1, cache=False))
        remote = report(scan_paths([root], executor=client, cache=False))
        out = {
            "same": remote == local,
            "unclean": sum(not d["clean"] for d in remote),
            "cli_local": cli("--jobs", "1")[:2],
            "cli_dask": cli("--dask", cluster.scheduler_address)[:2],
        }
    finally:
        client.close()
        cluster.close()
    print(json.dumps(out))
"""


def test_dask_cluster_scans_like_the_local_scan(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    make_tree(root)
    script = tmp_path / "dask_child.py"
    script.write_text(CHILD)
    proc = subprocess.run(
        [sys.executable, str(script), str(root)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg")),
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    assert out["same"] is True
    assert out["unclean"] >= 2
    status, doc = out["cli_dask"]
    assert status == 1
    assert [status, doc] == out["cli_local"]
