"""Write the example files bundled in this directory.

The files are made with the real tools, so they are exactly what real
programs produce: ``checkpoint.pkl`` with CPython's own :mod:`pickle`, and
``checkpoint.pt`` (a tiny model's training checkpoint: state dict, AdamW
state after two steps, epoch, step and config) with ``torch.save`` of torch
2.13.0 (skipped, with a note, when torch is not installed). Run this script
again to regenerate them. The output is byte-for-byte deterministic: the
order in which a set is pickled depends on string hashing, so the script
re-runs itself with ``PYTHONHASHSEED=0``, and the model is initialised and
trained from a fixed seed on fixed data::

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
#: The torch version ``checkpoint.pt`` is written with (its format varies).
TORCH_VERSION = "2.13.0"


def torch_checkpoint(path: Path) -> None:
    """Write a tiny model's training checkpoint with ``torch.save``."""
    from collections import OrderedDict

    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(
        OrderedDict(
            embed=nn.Embedding(64, 16),
            proj=nn.Linear(16, 16),
            norm=nn.LayerNorm(16),
            head=nn.Linear(16, 4),
        )
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    tokens = torch.arange(8).reshape(2, 4)
    targets = torch.tensor([[0, 1, 2, 3], [3, 2, 1, 0]])
    for _ in range(2):  # two steps: the optimizer has state to save
        optimizer.zero_grad()
        logits = model(tokens)
        loss = nn.functional.cross_entropy(logits.reshape(-1, 4), targets.reshape(-1))
        loss.backward()
        optimizer.step()
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": 3,
            "step": 1200,
            "config": {
                "vocab_size": 64,
                "hidden_size": 16,
                "classes": 4,
                "lr": 1e-3,
                "weight_decay": 0.01,
            },
        },
        path,
    )


def main() -> None:
    """Write every example file next to this script."""
    for filename, (make, protocol) in EXAMPLES.items():
        path = HERE / filename
        path.write_bytes(pickle.dumps(make(), protocol=protocol))
        print(f"wrote {path} (protocol {protocol}, {path.stat().st_size} bytes)")
    try:
        import torch
    except ImportError:
        print("torch is not installed: checkpoint.pt not written")
        return
    if torch.__version__.split("+")[0] != TORCH_VERSION:
        print(f"note: checkpoint.pt is meant to be written by torch {TORCH_VERSION}")
    path = HERE / "checkpoint.pt"
    torch_checkpoint(path)
    print(f"wrote {path} (torch {torch.__version__}, {path.stat().st_size} bytes)")


if __name__ == "__main__":
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        sys.exit(subprocess.run([sys.executable, __file__], env=env).returncode)
    main()
