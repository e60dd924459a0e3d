"""Compare emulpickle's load speed with CPython's unpicklers.

Builds a pickle of many small records (a list of dicts of builtin types, the
shape of a typical data-export pickle), then times, side by side in one run:

* ``pickle.loads`` -- CPython's C unpickler (``_pickle``);
* ``pickle._Unpickler(io.BytesIO(data)).load()`` -- CPython's pure-Python one;
* ``emulpickle.loads(data)``;
* ``emulpickle.load(io.BytesIO(data))``.

Each repeat runs every engine once, in turn, and the best time of each is
reported, together with its ratio to the C unpickler. Run it as::

    python benchmarks/bench_records.py [--records N] [--repeat N]
"""

from __future__ import annotations

import argparse
import gc
import io
import pickle
import random
import sys
import time
from collections.abc import Callable

import emulpickle

ENGINES: list[tuple[str, Callable[[bytes], object]]] = [
    ("pickle.loads (C)", pickle.loads),
    (
        "pickle._Unpickler (Python)",
        lambda data: pickle._Unpickler(io.BytesIO(data)).load(),
    ),
    ("emulpickle.loads", emulpickle.loads),
    ("emulpickle.load (BytesIO)", lambda data: emulpickle.load(io.BytesIO(data))),
]


def make_records(n: int, seed: int = 1234) -> list[dict[str, object]]:
    """Return ``n`` deterministic pseudo-random records.

    Every string is its own object (as when records come from parsing a file),
    so the pickle holds them as values rather than memo references; only the
    dict keys are shared. With this shape ``pickle._Unpickler`` takes about
    4x the C unpickler's time, the reference point the goals were set with.
    """
    rng = random.Random(seed)
    return [
        {
            "id": i,
            "name": f"user{i}",
            "score": rng.random() * 100.0,
            "tags": [f"t{rng.randrange(50)}" for _ in range(3)],
            "active": rng.random() < 0.5,
            "blob": rng.randbytes(16),
            "count": rng.randrange(-1000, 100_000),
        }
        for i in range(n)
    ]


def time_once(fn: Callable[[bytes], object], data: bytes, *, gc_on: bool) -> float:
    """Time one call of ``fn(data)``, the garbage collector running or paused.

    The result is freed only after the clock stops, so deallocation is not
    counted for any engine.
    """
    gc.collect()
    if not gc_on:
        gc.disable()
    try:
        start = time.perf_counter()
        result = fn(data)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    del result
    return elapsed


def print_table(title: str, best: dict[str, float]) -> None:
    """Print best times and their ratio to the C unpickler."""
    base = best[ENGINES[0][0]]
    width = max(len(name) for name, _ in ENGINES)
    print()
    print(title)
    print(
        f"{'engine':<{width}}  {'seconds':>9}  {'x C pickle':>10}  {'x pickle.py':>11}"
    )
    print(f"{'-' * width}  {'-' * 9}  {'-' * 10}  {'-' * 11}")
    pure = best[ENGINES[1][0]]
    for name, _ in ENGINES:
        print(
            f"{name:<{width}}  {best[name]:9.4f}  {best[name] / base:9.2f}x"
            f"  {best[name] / pure:10.2f}x"
        )


def main(argv: list[str] | None = None) -> int:
    """Build the data, check the result once, then time every engine."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--records", type=int, default=200_000, help="number of records (200000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="repeats; best time is kept (3)"
    )
    args = parser.parse_args(argv)
    if args.records < 1 or args.repeat < 1:
        parser.error("--records and --repeat must be positive")

    records = make_records(args.records)
    data = pickle.dumps(records, protocol=5)
    del records
    print(
        f"{args.records:,} records, pickle protocol 5, {len(data) / 1e6:.1f} MB; "
        f"Python {sys.version.split()[0]}; best of {args.repeat}"
    )

    expected = pickle.loads(data)
    for name, fn in ENGINES[2:]:
        if fn(data) != expected:
            print(f"error: {name} returned a different object", file=sys.stderr)
            return 1
    del expected
    print("check: emulpickle's results equal pickle's")

    # With the collector running (what users get) and paused (the machine's
    # own work only: the C unpickler's time is then mostly object creation).
    for gc_on, title in (
        (True, "garbage collector running"),
        (False, "garbage collector paused"),
    ):
        best = {name: float("inf") for name, _ in ENGINES}
        for _ in range(args.repeat):
            for name, fn in ENGINES:  # interleaved: drift affects all engines alike
                best[name] = min(best[name], time_once(fn, data, gc_on=gc_on))
        print_table(title, best)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
