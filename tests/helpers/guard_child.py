"""Runs guard scenarios in child processes: the guard cannot be uninstalled.

Each scenario is a Python snippet run in a fresh interpreter after
:data:`PRELUDE`, which defines ``CANARY`` (a path no run may create),
``EVIL`` (a protocol-0 pickle that runs ``touch CANARY`` under ``pickle``),
``sha(data)``, ``pin(manifest, *datas)`` and ``outcome(label, fn)``, which
prints ``label=<exception class name>`` or ``label=LOADED``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from helpers.paths import REPO_ROOT

#: What every child runs first (formatted with the canary's path).
PRELUDE = """\
import hashlib, io, json, os, sys
{limit}
CANARY = {canary!r}
EVIL = b"cos\\nsystem\\n(V" + {command!r}.encode() + b"\\ntR."
def sha(data):
    return hashlib.sha256(data).hexdigest()
def pin(path, *datas, trust=None):
    entries = [dict(sha256=sha(d), trust=trust) for d in datas]
    with open(path, "w") as f:
        json.dump({{"emulpickle-manifest": 1, "pickles": entries}}, f)
    return path
def outcome(label, fn):
    try:
        value = fn()
    except BaseException as exc:
        print(f"{{label}}={{type(exc).__name__}}", flush=True)
        return exc
    print(f"{{label}}=LOADED", flush=True)
    return value
"""

#: Bounds the child's address space (memory), unless it imports torch.
_LIMIT = "import resource; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))"


def child_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The child's environment: this tree first, a private hash cache."""
    env = dict(os.environ)
    roots = [
        str(REPO_ROOT),
        str(REPO_ROOT / "plugins" / "emulpickle-numpy" / "src"),
        str(REPO_ROOT / "plugins" / "emulpickle-torch" / "src"),
    ]
    env["PYTHONPATH"] = os.pathsep.join([*roots, env.get("PYTHONPATH", "")])
    env["XDG_CACHE_HOME"] = str(tmp / "cache")
    env.pop("EMULPICKLE_GUARD", None)
    env.update(extra)
    return env


def run_child(
    tmp: Path, code: str, *, limit_memory: bool = True, **env: str
) -> tuple[dict[str, str], subprocess.CompletedProcess[str], bool]:
    """Run ``PRELUDE + code``; returns ``(outcomes, process, canary exists)``."""
    canary = str(tmp / "canary")
    prelude = PRELUDE.format(
        limit=_LIMIT if limit_memory else "",
        canary=canary,
        command="touch " + shlex.quote(canary),
    )
    process = subprocess.run(
        [sys.executable, "-c", prelude + code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp,
        env=child_env(tmp, **env),
    )
    outcomes: dict[str, str] = {}
    for line in process.stdout.splitlines():
        label, sep, result = line.partition("=")
        if sep:
            outcomes[label] = result
    return outcomes, process, os.path.exists(canary)
