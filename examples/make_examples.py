"""Write the example pickles bundled in this directory.

The files are made with CPython's own :mod:`pickle`, so they are exactly what
real programs produce. Run this script again to regenerate them. The output is
byte-for-byte deterministic: the order in which a set is pickled depends on
string hashing, so the script re-runs itself with ``PYTHONHASHSEED=0``::

    python examples/make_examples.py
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def checkpoint() -> dict[str, object]:
    """A training-checkpoint-like object made only of builtin types."""
    return {
        "config": {
            "model": {
                "name": "tiny-transformer",
                "layers": 4,
                "hidden_size": 256,
                "dropout": 0.1,
                "activation": "gelu",
                "tie_embeddings": True,
            },
            "optimizer": {
                "name": "adamw",
                "lr": 3e-4,
                "betas": [0.9, 0.999],
                "weight_decay": 0.01,
                "amsgrad": False,
            },
            "data": {
                "train_files": ["train-000.txt", "train-001.txt"],
                "max_length": 512,
                "shuffle_seed": None,
            },
        },
        "step": 12_000,
        "metrics": [2.3025, 1.8731, 1.5402, 1.3318, 1.2196],
        "vocab": {"<pad>", "<unk>", "the", "of", "and", "model"},
        "blob": bytes(range(32)),
        "shape": (4, 256, 256),
    }


EXAMPLES = {
    "checkpoint.pkl": (checkpoint, 4),
}


def main() -> None:
    """Write every example file next to this script."""
    for filename, (make, protocol) in EXAMPLES.items():
        path = HERE / filename
        path.write_bytes(pickle.dumps(make(), protocol=protocol))
        print(f"wrote {path} (protocol {protocol}, {path.stat().st_size} bytes)")


if __name__ == "__main__":
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        sys.exit(subprocess.run([sys.executable, __file__], env=env).returncode)
    main()
