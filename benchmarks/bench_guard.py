"""The process-wide guard's overhead (docs/guard.md).

Each measurement runs in a fresh child process (a guard cannot be
uninstalled), once without the guard and once with ``emulpickle.guard``
strict and the loaded bytes pinned:

* ``small loads``: ``--count`` calls of ``pickle.loads`` on a small pinned
  pickle (µs per call; the difference is the guard's cost, sha256 included);
* ``torch.load``: a ``--mb`` MB checkpoint written by ``torch.save`` (one
  float32 tensor), ``torch.load(path, weights_only=True)`` best of
  ``--repeat``, with a warm hash cache (the first guarded load hashes the
  file and fills the cache); and the cold hashing rate (GB/s) of that file.

Run it as::

    python benchmarks/bench_guard.py [--count 10000] [--mb 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SMALL = """
import json, pickle, sys, time
data = pickle.dumps({"a": [1, 2, 3], "b": "text", "c": 1.5}, 4)
if sys.argv[1] == "guard":
    import emulpickle
    from emulpickle.guard import Entry, Manifest, sha256_bytes
    emulpickle.guard(Manifest([Entry(sha256_bytes(data), None, None, None, None)]))
count = int(sys.argv[2])
loads = pickle.loads
best = float("inf")
for _ in range(5):
    start = time.perf_counter()
    for _ in range(count):
        loads(data)
    best = min(best, time.perf_counter() - start)
print(json.dumps({"us_per_call": best / count * 1e6}))
"""

TORCH = """
import json, os, sys, time
import torch
path, mode, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
result = {}
if mode == "guard":
    import emulpickle
    from emulpickle.guard import Entry, Manifest, sha256_file
    start = time.perf_counter()
    digest = sha256_file(path)  # cold: no cache
    seconds = time.perf_counter() - start
    result["hash_gb_per_s"] = os.path.getsize(path) / seconds / 1e9
    emulpickle.guard(Manifest([Entry(digest, None, None, None, None)]))
    torch.load(path, weights_only=True)  # fills the hash cache
best = float("inf")
for _ in range(repeat):
    start = time.perf_counter()
    torch.load(path, weights_only=True)
    best = min(best, time.perf_counter() - start)
result["load_s"] = best
print(json.dumps(result))
"""


def child(code: str, *args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()
    plain = child(SMALL, "plain", str(args.count))["us_per_call"]
    guarded = child(SMALL, "guard", str(args.count))["us_per_call"]
    print(
        f"small loads: {plain:.2f} µs without the guard, {guarded:.2f} µs with it "
        f"(+{guarded - plain:.2f} µs per call, sha256 included)"
    )
    if args.no_torch:
        return
    import os

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "model.pt")
        numel = args.mb * (1 << 20) // 4
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"import torch; torch.save({{'w': torch.rand({numel})}}, {path!r})",
            ],
            check=True,
        )
        env = dict(os.environ, XDG_CACHE_HOME=str(Path(tmp) / "cache"))
        base = child(TORCH, path, "plain", str(args.repeat), env=env)
        with_guard = child(TORCH, path, "guard", str(args.repeat), env=env)
    overhead = (with_guard["load_s"] / base["load_s"] - 1) * 100
    print(
        f"torch.load of {args.mb} MB: {base['load_s']:.3f} s without the guard, "
        f"{with_guard['load_s']:.3f} s with it, warm hash cache ({overhead:+.1f}%); "
        f"cold hashing {with_guard['hash_gb_per_s']:.2f} GB/s"
    )


if __name__ == "__main__":
    main()
