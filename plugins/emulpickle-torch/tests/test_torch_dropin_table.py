"""docs/torch.md's table of checkpoint kinds is what the loaders really do.

Each kind is written by the real tools in tmp_path and loaded with
``torch.load(weights_only=True)`` and the drop-in; the observed outcomes
must be the rows between the ``kinds-table`` markers of docs/torch.md, so
the docs cannot drift. ``EMULPICKLE_WRITE_TABLE=1`` rewrites the block from
what this run saw (then review the diff). Where the drop-in loads a file,
its result is also compared with ``torch.load(weights_only=False)`` on the
file this test wrote. The hostile row runs in a child process with a canary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import emulpickle_torch as et
import pytest
from helpers.paths import REPO_ROOT
from torch_ckpt_helpers import TORCH_REASON
from torch_dropin_helpers import assert_same_load
from torch_kinds import KINDS, LOADERS, MALICIOUS, outcomes, table

torch = pytest.importorskip("torch", reason=TORCH_REASON)

DOCS = REPO_ROOT / "docs" / "torch.md"
START, END = "<!-- kinds-table -->", "<!-- /kinds-table -->"
#: Not compared here: the tar fixture holds a class object (OrderedDict) that
#: torch imports; test_torch_dropin_consumers compares its tensors and storage.
NOT_COMPARED = {"legacy tar format (torch < 0.4)"}
HANG_GUARD = 120  # seconds; importing torch in the child takes a few


def hostile_outcomes(tmp_path: Path) -> dict[str, str]:
    canary = tmp_path / "canary"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    here = str(Path(__file__).parent)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (here, str(REPO_ROOT / "tests"), env.get("PYTHONPATH", "")) if p
    )
    proc = subprocess.run(
        [sys.executable, str(Path(here) / "torch_kinds.py"), "evil.pt", str(canary)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert not canary.exists(), "the os.system payload ran"
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def documented() -> str:
    text = DOCS.read_text()
    start, end = text.index(START) + len(START), text.index(END)
    return text[start:end].strip()


def test_the_kinds_table_is_what_the_loaders_do(tmp_path: Path) -> None:
    rows: dict[str, dict[str, str]] = {}
    for i, (kind, write) in enumerate(KINDS.items()):
        path = tmp_path / f"kind{i}.pt"
        write(path)
        rows[kind] = outcomes(path)
        if rows[kind][LOADERS[1]] == "loads" and kind not in NOT_COMPARED:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs: Any = torch.load(path, weights_only=False)  # ours
            assert_same_load(et.torch_load(path), theirs)
    rows[MALICIOUS] = hostile_outcomes(tmp_path)
    hostile = rows[MALICIOUS]
    assert hostile[LOADERS[0]].startswith("refuses")
    assert hostile[LOADERS[1]].startswith("refuses")
    assert hostile[LOADERS[2]] == "loads (inert `GenericObject`)"
    observed = table(rows)
    if os.environ.get("EMULPICKLE_WRITE_TABLE") == "1":
        text = DOCS.read_text()
        head, rest = text.split(START, 1)
        DOCS.write_text(f"{head}{START}\n{observed}\n{END}{rest.split(END, 1)[1]}")
    assert documented() == observed
