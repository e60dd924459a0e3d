"""Peak memory and time of ``emulpickle convert`` on a ~500 MB checkpoint.

A child process writes a GPT-2-sized state dict with torch (so this process
never imports torch), then ``emulpickle convert`` runs as a user would, in a
fresh process, and its peak RSS (``ru_maxrss`` of the child) is reported next
to the size of the file. The goal is under 300 MB of RSS however large the
checkpoint: tensors are streamed one at a time from a memory map. Run::

    python benchmarks/bench_convert.py [--layers 12]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WRITE = """
import sys, torch
layers, path = int(sys.argv[1]), sys.argv[2]
torch.manual_seed(0)
state = {"wte.weight": torch.randn(50257, 768), "wpe.weight": torch.randn(1024, 768)}
for i in range(layers):
    p = f"h.{i}."
    state[p + "attn.c_attn.weight"] = torch.randn(768, 2304)
    state[p + "attn.c_proj.weight"] = torch.randn(768, 768)
    state[p + "mlp.c_fc.weight"] = torch.randn(768, 3072)
    state[p + "mlp.c_proj.weight"] = torch.randn(3072, 768).t()  # a strided view
    state[p + "ln_1.weight"] = torch.ones(768)
state["lm_head.weight"] = state["wte.weight"]  # shared storage
torch.save(state, path)
"""

# Runs the command line in-process and prints its own peak RSS (KiB) last.
CONVERT = """
import resource, runpy, sys
sys.argv = ["emulpickle", "convert", sys.argv[1], sys.argv[2]]
try:
    runpy.run_module("emulpickle", run_name="__main__")
except SystemExit as stop:
    if stop.code:
        raise
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def main(argv: list[str] | None = None) -> int:
    """Write the checkpoint, convert it, report time and peak memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=12)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp, "model.pt")
        out = Path(tmp, "model.safetensors")
        subprocess.run(
            [sys.executable, "-c", WRITE, str(args.layers), str(model)], check=True
        )
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", CONVERT, str(model), str(out)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        elapsed = time.perf_counter() - started
        peak_kib = int(result.stdout.split()[-1])
        print(f"checkpoint      {model.stat().st_size / 2**20:8.0f} MiB")
        print(f"safetensors     {out.stat().st_size / 2**20:8.0f} MiB")
        print(f"convert time    {elapsed:8.2f} s (cold process, imports included)")
        print(f"peak RSS        {peak_kib / 1024:8.0f} MiB (goal: under 300 MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
