"""Compare emulpickle.scan's throughput with picklescan's, side by side.

Workloads: the 200,000-record pickle of ``bench_records.py`` (scanned as
bytes, then as a file), and, when torch is installed, a ~500 MB torch.save
checkpoint written to a temporary directory (scanned as a file). Each repeat
runs each scanner once; the best time is reported as MB/s. For the records,
the time ``emulpickle.loads`` takes to load them is shown too: scanning
should not cost more than loading. Run it as::

    python benchmarks/bench_scan.py [--records N] [--torch-mb N] [--repeat N]
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_records import make_records

import emulpickle
from emulpickle.scan import scan


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _picklescan() -> tuple[Callable[[bytes], object], Callable[[str], object]] | None:
    try:
        from picklescan.scanner import scan_file_path, scan_pickle_bytes
    except ImportError:
        return None
    return (
        lambda data: scan_pickle_bytes(io.BytesIO(data), "records.pkl")
    ), scan_file_path


def _row(label: str, size: int, ours: float, theirs: float | None) -> None:
    mb = size / 1e6
    line = f"{label:<28} {mb:8.1f} MB  emulpickle {ours:6.2f} s {mb / ours:8.1f} MB/s"
    if theirs is not None:
        ratio = theirs / ours
        line += (
            f"  | picklescan {theirs:6.2f} s {mb / theirs:8.1f} MB/s  ({ratio:.1f}x)"
        )
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--torch-mb", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    other = _picklescan()
    if other is None:
        print("picklescan is not installed: showing emulpickle alone")
    data = pickle.dumps(make_records(args.records), protocol=5)
    report = scan(data)
    assert report.clean, report
    ours = _best(lambda: scan(data), args.repeat)
    theirs = _best(lambda: other[0](data), args.repeat) if other else None
    _row(f"{args.records:,} records", len(data), ours, theirs)
    load = _best(lambda: emulpickle.loads(data), args.repeat)
    machine = "compiled" if emulpickle.__compiled__ else "pure Python"
    print(
        f"{'':<28} emulpickle.loads ({machine}) {load:6.2f} s: "
        f"scan/load {ours / load:.2f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "records.pkl")
        with open(path, "wb") as f:
            f.write(data)
        ours = _best(lambda: scan(path), args.repeat)
        theirs = _best(lambda: other[1](path), args.repeat) if other else None
        _row(f"{args.records:,} records (file)", len(data), ours, theirs)
    try:
        import torch
    except ImportError:
        print("torch is not installed: skipping the checkpoint workload")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.pt")
        n = args.torch_mb * (1 << 20) // 4 // 200
        state = {f"layer{i}.weight": torch.randn(n) for i in range(200)}
        torch.save(state, path)
        del state
        size = os.path.getsize(path)
        assert scan(path).clean
        ours = _best(lambda: scan(path), args.repeat)
        theirs = _best(lambda: other[1](path), args.repeat) if other else None
        _row(f"torch checkpoint ({args.torch_mb} MB)", size, ours, theirs)


if __name__ == "__main__":
    main()
