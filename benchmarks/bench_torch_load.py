"""Compare the drop-in ``emulpickle_torch.torch_load`` with ``torch.load``.

Three checkpoints are written with ``torch.save`` into a temporary directory
(by a child process, so this one never imports torch):

* ``gpt2``: a GPT-2-sized state dict (124M float32 parameters, ~500 MB; the
  names and shapes of GPT-2 small, random values);
* ``1000 tensors``: a state dict of 1,000 small tensors of mixed shapes;
* ``adam``: a training checkpoint of a 200-layer MLP with its Adam state
  (exp_avg, exp_avg_sq, step: ~1,600 tensors) and an LR scheduler.

Each is loaded by each loader in a fresh child process that imports torch,
numpy and emulpickle_torch first (the same baseline for every loader), then
times ``--repeat`` loads (best of them; the page cache is warm after the
first) and reports the growth of the process's peak RSS (VmHWM in
/proc/self/status, after the first load minus before it) while that load's
result is alive. Loaders:

* ``torch_load``: ``emulpickle_torch.torch_load(f)`` -> real tensors,
  zero-copy from a copy-on-write map;
* ``torch mmap``: ``torch.load(f, mmap=True, weights_only=True)``;
* ``torch``: ``torch.load(f, weights_only=True)`` (reads every byte);
* ``emulated``: ``emulpickle_torch.load(f)`` -> emulated tensors, for
  reference (what the plugin does without torch).

Run it as::

    python benchmarks/bench_torch_load.py [--layers 12] [--repeat 5] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from timed_load import TIMED_LOAD

LOADERS = {
    "torch_load": "emulpickle_torch.torch_load(path)",
    "torch mmap": "torch.load(path, mmap=True, weights_only=True)",
    "torch": "torch.load(path, weights_only=True)",
    "emulated": "emulpickle_torch.load(path)",
}

CHILD = (
    """
import gc, json, sys, time, warnings
import numpy, torch, emulpickle_torch
warnings.simplefilter("ignore")

"""
    + TIMED_LOAD
)

WRITER = """
import sys
sys.path.insert(0, {here!r})
import torch
from bench_torch import gpt2_state_dict

kind, path, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
gen = torch.Generator().manual_seed(0)
if kind == "gpt2":
    torch.save(gpt2_state_dict(size), path)
elif kind == "tensors":
    shapes = [(64,), (16, 16), (8, 4, 3, 3), (128, 8), ()]
    torch.save(
        {{f"block.{{i}}.p": torch.randn(shapes[i % 5], generator=gen)
          for i in range(size)}},
        path,
    )
else:
    torch.manual_seed(0)
    layers = [torch.nn.Linear(64, 64) for _ in range(size)]
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 10)
    for _ in range(2):
        optimizer.zero_grad()
        model(torch.randn(8, 64, generator=gen)).pow(2).mean().backward()
        optimizer.step()
        scheduler.step()
    torch.save(
        {{"model": model.state_dict(), "optimizer": optimizer.state_dict(),
          "scheduler": scheduler.state_dict(), "epoch": 2}},
        path,
    )
"""


def write(kind: str, path: Path, size: int) -> None:
    code = WRITER.format(here=str(Path(__file__).parent))
    subprocess.run([sys.executable, "-c", code, kind, str(path), str(size)], check=True)


def measure(loader: str, path: Path, repeat: int) -> dict[str, Any]:
    code = CHILD.format(expr=LOADERS[loader])
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path), str(repeat)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=12, help="GPT-2 layers")
    parser.add_argument("--tensors", type=int, default=1000)
    parser.add_argument("--adam-layers", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--quick", action="store_true", help="2 GPT-2 layers, 200 tensors, 3 runs"
    )
    args = parser.parse_args()
    if args.quick:
        args.layers, args.tensors, args.adam_layers, args.repeat = 2, 200, 40, 3
    files = {
        f"gpt2 ({args.layers} layers)": ("gpt2", args.layers),
        f"{args.tensors} tensors": ("tensors", args.tensors),
        f"adam ({args.adam_layers} layers)": ("adam", args.adam_layers),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for title, (kind, size) in files.items():
            path = Path(tmp) / f"{kind}.pt"
            write(kind, path, size)
            print(f"\n{title}: {path.stat().st_size / 2**20:.1f} MiB")
            header = ("loader", "best s", "RSS growth MiB", "time / torch_load")
            print("{:12} {:>9} {:>15} {:>18}".format(*header))
            results = {name: measure(name, path, args.repeat) for name in LOADERS}
            base = results["torch_load"].get("best")
            for name, row in results.items():
                if "error" in row:
                    print(f"{name:12} failed: {row['error']}")
                    continue
                ratio = f"{row['best'] / base:17.2f}x" if base else ""
                print(f"{name:12} {row['best']:9.4f} {row['growth']:15.1f} {ratio:>18}")
            path.unlink()


if __name__ == "__main__":
    main()
