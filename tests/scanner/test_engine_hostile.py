"""Hostile files scanned on worker processes never run: a child process scans
a tree of pickles that would each create a canary file when loaded, on two
workers, in bounded memory, under a hang guard."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from emulpickle.scanner.engine import scan_paths
jobs = int(sys.argv[2])
results = list(scan_paths([sys.argv[1]], jobs=jobs, cache_dir=sys.argv[3]))
print(json.dumps(sorted([r.file, r.clean] for r in results)))
"""


def _hostile(marker: Path) -> dict[str, bytes]:
    cmd = f"touch {shlex.quote(str(marker))}".encode()
    py = f"open({str(marker)!r}, 'w').close()".encode()
    u = lambda b: b"\x8c" + bytes([len(b)]) + b  # noqa: E731
    return {
        "system.pkl": b"cos\nsystem\n(S'" + cmd + b"'\ntR.",
        "exec.pkl": b"\x80\x04cbuiltins\nexec\n" + u(py) + b"\x85R.",
        "stack.pkl": b"\x80\x04"
        + u(b"subprocess")
        + u(b"getoutput")
        + b"\x93"
        + u(cmd)
        + b"\x85R.",
        "nested/inst.pkl": b"(S'" + cmd + b"'\nios\nsystem\n.",
    }


def test_hostile_tree_on_workers_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "RAN"
    root = tmp_path / "tree"
    for name, data in _hostile(marker).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for jobs in ("1", "2"):
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(root), jobs, str(tmp_path / "cache")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=dict(os.environ),
        )
        assert proc.returncode == 0, proc.stderr
        results = json.loads(proc.stdout)
        assert len(results) == 4
        assert all(clean is False for _, clean in results), results
        assert not marker.exists()
