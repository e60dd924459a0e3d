"""A small model-hub tree written by the real tools, for the many-files scans.

:func:`make_tree` writes pickles (``pickle.dump``), ``.npy``/``.npz``
(numpy), joblib and torch files when those are installed, a text file and a
hostile pickle into a directory tree, and sets every file's mtime into the
past so that the result cache may record it (a file changed in the last
seconds is never cached).
"""

from __future__ import annotations

import collections
import os
import pickle
import time
from pathlib import Path

EVIL = b"cos\nsystem\n(S'echo hi'\ntR."


def age(root: Path, seconds: float = 100.0) -> None:
    """Set the mtime of every file under ``root`` ``seconds`` into the past."""
    then = time.time() - seconds
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (then, then))


def make_tree(root: Path, *, copies: int = 3) -> dict[str, bool | None]:
    """Write the tree; returns each file's path (relative) and whether it
    is expected clean (None: a text file, whatever the scanner makes of it)."""
    expected: dict[str, bool | None] = {}

    def put(rel: str, clean: bool | None) -> Path:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        expected[rel] = clean
        return path

    for i in range(copies):
        with put(f"org{i}/model/weights.pkl", True).open("wb") as f:
            pickle.dump({"layer": [i, 2.5, "x"], "od": collections.OrderedDict(a=i)}, f)
        put(f"org{i}/README.md", None).write_text(f"model {i}\n")
    put("org0/model/evil.pkl", False).write_bytes(EVIL)
    put("unknown/custom.pkl", False).write_bytes(b"\x80\x02cmypkg.models\nNet\n)\x81.")
    try:
        import numpy as np
    except ImportError:
        pass
    else:
        np.save(put("arrays/a.npy", True), np.arange(12.0).reshape(3, 4))
        np.savez(put("arrays/b.npz", True), x=np.ones(3), y=np.zeros((2, 2)))
    try:
        import joblib
    except ImportError:
        pass
    else:
        joblib.dump({"w": [1, 2, 3]}, put("sk/model.joblib", True))
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.save({"w": torch.zeros(2, 3)}, put("torch/model.pt", True))
    age(root)
    return expected
