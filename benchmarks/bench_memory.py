"""Peak memory and time of ``emulpickle scan`` and ``dis`` on big files, side by side.

Files (written by the real tools to a temporary directory, ``--mb`` MB each):
a pickle holding a numpy array (protocols 4 and 5), a pickle holding a bytes
object, and, when torch is installed, a legacy (pre-zip) and a zip
``torch.save`` checkpoint. Each command runs in its own process, which
reports its peak resident set (VmHWM: pages of a memory-mapped file it
touched count too); a bare interpreter's is shown first, for scale. Against:
picklescan's scan (``pip install picklescan``) and ``python -m pickletools``
(the standard library's disassembler; it lists only the first pickle of a
legacy checkpoint). Linux only (VmHWM is read from ``/proc``). Run it as::

    python benchmarks/bench_memory.py [--mb N]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time

# Run in the child: the tool as ``python -m MODULE ARGS``, then its peak RSS.
_CHILD = r"""
import atexit, runpy, sys

def peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                sys.stderr.write(f"\nPEAK {line.split()[1]}\n")

atexit.register(peak)
module, *args = sys.argv[1:]
sys.argv = [module, *args]
if module:
    runpy.run_module(module, run_name="__main__", alter_sys=True)
"""

_WRITE = r"""
import pickle, sys
import numpy as np

folder, nbytes = sys.argv[1], int(sys.argv[2])
array = np.zeros(nbytes // 4, np.float32)
for protocol in (4, 5):
    with open(f"{folder}/array-p{protocol}.pkl", "wb") as f:
        pickle.dump({"a": array}, f, protocol=protocol)
with open(f"{folder}/bytes.pkl", "wb") as f:
    pickle.dump({"b": bytes(nbytes)}, f, protocol=4)
try:
    import torch
except ImportError:
    sys.exit()
layers = 100
state = {f"layer{i}.weight": torch.zeros(nbytes // layers // 4) for i in range(layers)}
torch.save(state, f"{folder}/legacy.pt", _use_new_zipfile_serialization=False)
torch.save(state, f"{folder}/zip.pt")
"""


def _run(module: str, *args: str) -> tuple[float, int, int]:
    """Wall time, peak RSS (bytes) and exit status of ``python -m MODULE ARGS``.

    It runs in the temporary directory: the emulpickle it imports is the one
    on the path (PYTHONPATH, or installed), not one in the working directory.
    """
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, module, *args],
        cwd=tempfile.gettempdir(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - t0
    peaks = [line for line in proc.stderr.splitlines() if line.startswith("PEAK ")]
    return elapsed, int(peaks[-1].split()[1]) * 1024 if peaks else -1, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=320, help="size of each file")
    args = parser.parse_args()
    tools = [
        ("emulpickle scan", "emulpickle", ["scan"]),
        ("emulpickle dis", "emulpickle", ["dis"]),
        ("pickletools.dis", "pickletools", []),
    ]
    if importlib.util.find_spec("picklescan") is not None:
        tools.append(("picklescan", "picklescan", ["-p"]))
    else:
        print("(picklescan is not installed: pip install picklescan)")
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-c", _WRITE, folder, str(args.mb * 1_000_000)],
            check=True,
        )
        _, bare, _ = _run("")
        print(f"a bare interpreter: {bare / 2**20:.0f} MiB peak RSS")
        print(f"{'file':<14} {'MB':>5}  {'tool':<16} {'time':>7} {'peak RSS':>10}")
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            size = os.path.getsize(path) / 1e6
            for label, module, extra in tools:
                elapsed, peak, status = _run(module, *extra, path)
                note = f"  (exit status {status})" if status else ""
                print(
                    f"{name:<14} {size:>5.0f}  {label:<16} {elapsed:>6.2f}s "
                    f"{peak / 2**20:>6.0f} MiB{note}"
                )


if __name__ == "__main__":
    main()
