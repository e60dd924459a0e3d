"""Compare ``emulpickle_torch.load`` with ``torch.load(mmap=True, weights_only=True)``.

Writes a GPT-2-sized (124M parameters, ~500 MB float32) state_dict with
``torch.save`` into a temporary directory, then loads it to numpy arrays
(touching one element of each) with both loaders:

* in-process: best of ``--repeat`` runs, modules already imported;
* cold process: a fresh ``python`` child per run, imports included, timed
  from the parent, with the child's peak RSS (``ru_maxrss`` from ``wait4``).

Both memory-map the file, so the page cache is warm after the first run.
Run it as::

    python benchmarks/bench_torch.py [--layers 12] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = {
    "emulpickle_torch.load": (
        "import sys, emulpickle_torch\n"
        "sd = emulpickle_torch.load(sys.argv[1])\n"
        "total = 0.0\n"
        "for t in sd.values():\n"
        "    a = t.numpy()\n"
        "    total += float(a.flat[0]) if a.size else 0.0\n"
    ),
    "torch.load(mmap, weights_only)": (
        "import sys, torch\n"
        "sd = torch.load(sys.argv[1], mmap=True, weights_only=True)\n"
        "total = 0.0\n"
        "for t in sd.values():\n"
        "    a = t.numpy()\n"
        "    total += float(a.flat[0]) if a.size else 0.0\n"
    ),
}


def gpt2_state_dict(layers: int) -> dict[str, object]:
    import torch

    gen = torch.Generator().manual_seed(0)
    d, vocab, ctx = 768, 50257, 1024

    def rand(*shape: int) -> object:
        return torch.empty(shape).normal_(0.0, 0.02, generator=gen)

    sd: dict[str, object] = {"wte.weight": rand(vocab, d), "wpe.weight": rand(ctx, d)}
    for i in range(layers):
        p = f"h.{i}."
        sd[p + "ln_1.weight"], sd[p + "ln_1.bias"] = rand(d), rand(d)
        sd[p + "attn.c_attn.weight"], sd[p + "attn.c_attn.bias"] = (
            rand(d, 3 * d),
            rand(3 * d),
        )
        sd[p + "attn.c_proj.weight"], sd[p + "attn.c_proj.bias"] = rand(d, d), rand(d)
        sd[p + "ln_2.weight"], sd[p + "ln_2.bias"] = rand(d), rand(d)
        sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"] = rand(d, 4 * d), rand(4 * d)
        sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"] = (
            rand(4 * d, d),
            rand(d),
        )
    sd["ln_f.weight"], sd["ln_f.bias"] = rand(d), rand(d)
    return sd


def in_process(name: str, path: Path, repeat: int) -> float:
    code = compile(CHILD[name], name, "exec")
    best = float("inf")
    for _ in range(repeat):
        sys.argv = ["bench", str(path)]
        start = time.perf_counter()
        exec(code, {})
        best = min(best, time.perf_counter() - start)
    return best


def cold(name: str, path: Path, repeat: int) -> tuple[float, float]:
    best, peak = float("inf"), 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", CHILD[name], str(path)])
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{name} child failed with {proc.returncode}")
        best = min(best, elapsed)
        peak = max(peak, usage.ru_maxrss / 1024)  # KiB -> MiB on Linux
    return best, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        import torch

        torch.save(gpt2_state_dict(args.layers), args.write)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gpt2.pt"
        # Written by a child, and the cold runs go first, so that this process
        # is still small when it forks them: Linux carries a forked process's
        # RSS into the child's ru_maxrss.
        subprocess.run(
            [sys.executable, __file__, "--layers", str(args.layers), "--write", path],
            check=True,
        )
        size_mb = path.stat().st_size / 2**20
        print(f"GPT-2 state_dict: {size_mb:.0f} MiB, {args.layers} layers\n")
        colds = {name: cold(name, path, args.repeat) for name in CHILD}
        rows = []
        for name in CHILD:
            warm = in_process(name, path, args.repeat)
            rows.append((name, warm, *colds[name]))
        print(f"{'loader':34} {'in-process s':>13} {'cold s':>8} {'peak RSS MiB':>13}")
        for name, warm, cold_s, rss in rows:
            print(f"{name:34} {warm:13.4f} {cold_s:8.3f} {rss:13.0f}")


if __name__ == "__main__":
    main()
