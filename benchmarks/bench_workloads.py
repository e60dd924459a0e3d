"""Load speed on several workloads, every engine side by side in one run.

Workloads: the 200,000-record pickle, 2,000,000 small ints, a deep
config-like dict, a 50 MB list of 1 KB bytes objects, a numpy-heavy pickle
(needs numpy and emulpickle-numpy) and a torch ``data.pkl`` of 1,000 tensors
(needs torch to write it). Engines: CPython's C unpickler, its pure-Python
``pickle._Unpickler``, torch's weights-only unpickler where it can read the
input, and emulpickle's compiled and pure machines (both in this process: the
pure one is the source ``machine/vm.py`` loaded beside the compiled extension).

Times are the best of ``--repeat`` runs with the garbage collector running,
as users get it; results are freed after the clock stops. Run::

    python benchmarks/bench_workloads.py [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import io
import pickle
import random
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import emulpickle
import emulpickle.unpickler as unpickler_module
from emulpickle.machine import selection as _machine

sys.path.insert(0, str(Path(__file__).parent))
from bench_records import make_records

Engine = Callable[[bytes], object]


# ------------------------------------------------------------------ workloads


def config_like(depth: int = 6, width: int = 6) -> dict[str, Any]:
    """A deep, wide, nested configuration of dicts, lists and strings."""
    rng = random.Random(7)

    def node(level: int) -> Any:
        if level == depth:
            return [f"value-{rng.randrange(10**6)}" for _ in range(4)]
        return {
            f"key_{level}_{i}": node(level + 1) if i % 2 == 0 else [str(i)] * 3
            for i in range(width)
        }

    return node(0)


def torch_data_pkl(n: int = 1000) -> bytes | None:
    """``data.pkl`` of a state_dict with ``n`` small tensors, written by torch."""
    try:
        import torch
    except ImportError:
        return None
    state = {f"layer{i}.weight": torch.zeros(4, 4) for i in range(n)}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        name = next(n for n in archive.namelist() if n.endswith("data.pkl"))
        return archive.read(name)


def numpy_heavy() -> tuple[bytes, emulpickle.Registry] | None:
    """A pickle of many numpy arrays and scalars, and the registry to load it."""
    try:
        import numpy as np

        registry = emulpickle.Registry.with_plugins("numpy")
    except (ImportError, emulpickle.PluginNotFoundError):
        return None
    rng = np.random.default_rng(0)
    value = {
        "arrays": [rng.standard_normal(16) for _ in range(20_000)],
        "scalars": [np.float64(i) for i in range(20_000)],
        "big": rng.standard_normal((512, 512)),
    }
    return pickle.dumps(value, 4), registry


# ------------------------------------------------------------------- engines


class _Anything:
    """Stands in for every global when a C/Python unpickler reads data.pkl."""

    def __init__(self, *args: object) -> None:
        self.args = args

    def __setstate__(self, state: object) -> None:
        self.state = state


class _CTorchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return dict
        return _Anything

    def persistent_load(self, pid: Any) -> Any:
        return pid


class _PyTorchUnpickler(pickle._Unpickler):  # type: ignore[name-defined,misc]
    find_class = _CTorchUnpickler.find_class
    persistent_load = _CTorchUnpickler.persistent_load


def emulpickle_engine(machine: Any, **options: Any) -> Engine:
    """``emulpickle.loads`` running on ``machine`` (compiled or pure)."""

    def run(data: bytes) -> object:
        saved = unpickler_module.Machine
        unpickler_module.Machine = machine
        try:
            return emulpickle.loads(data, **options)
        finally:
            unpickler_module.Machine = saved

    return run


def torch_weights_only(data: bytes) -> object:
    """torch's weights-only unpickler on a raw pickle."""
    from torch import _weights_only_unpickler

    return _weights_only_unpickler.Unpickler(io.BytesIO(data), encoding="utf-8").load()


def best_time(engine: Engine, data: bytes, repeat: int) -> float:
    """Best wall time of ``engine(data)`` over ``repeat`` runs, GC running."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = engine(data)
        elapsed = time.perf_counter() - start
        del result
        best = min(best, elapsed)
    return best


def main(argv: list[str] | None = None) -> int:
    """Build the workloads and print one table row per workload."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller inputs")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1

    pure = _machine.load_source().Machine
    compiled = _machine.Machine if _machine.compiled else None
    torch_pkl = torch_data_pkl(1000)
    numpy_case = numpy_heavy()

    workloads: list[tuple[str, bytes, dict[str, Any], bool]] = [
        ("200k records", pickle.dumps(make_records(200_000 // scale), 5), {}, True),
        ("2M small ints", pickle.dumps(list(range(2_000_000 // scale)), 5), {}, True),
        ("deep config dict", pickle.dumps(config_like(), 5), {}, True),
        (
            "50 MB of 1 KB bytes",
            pickle.dumps([random.randbytes(1024) for _ in range(50_000 // scale)], 5),
            {},
            True,
        ),
    ]
    if numpy_case is not None:
        data, registry = numpy_case
        workloads.append(("numpy-heavy", data, {"registry": registry}, False))
    if torch_pkl is not None:
        options = {"unknown": "generic", "persistent_load": lambda pid: pid}
        workloads.append(("torch data.pkl, 1000 tensors", torch_pkl, options, False))

    print(
        f"Python {sys.version.split()[0]}; best of {args.repeat}; times in ms; "
        f"ratios to C pickle; compiled machine {'available' if compiled else 'absent'}"
    )
    header = ["workload", "C", "pickle.py", "torch w/o", "emul pure", "emul compiled"]
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for name, data, options, plain in workloads:
        if plain:
            c_engine: Engine = pickle.loads
            py_engine: Engine = lambda d: pickle._Unpickler(io.BytesIO(d)).load()  # type: ignore[attr-defined]  # noqa: E731
        elif name.startswith("torch"):
            c_engine = lambda d: _CTorchUnpickler(io.BytesIO(d)).load()  # noqa: E731
            py_engine = lambda d: _PyTorchUnpickler(io.BytesIO(d)).load()  # noqa: E731
        else:
            c_engine = pickle.loads
            py_engine = lambda d: pickle._Unpickler(io.BytesIO(d)).load()  # type: ignore[attr-defined]  # noqa: E731
        c_time = best_time(c_engine, data, args.repeat)
        row = [name, f"{c_time * 1e3:.0f}"]
        row.append(_cell(best_time(py_engine, data, args.repeat), c_time))
        if name.startswith("torch") or plain:
            try:
                row.append(
                    _cell(best_time(torch_weights_only, data, args.repeat), c_time)
                )
            except Exception:
                row.append("n/a")
        else:
            row.append("n/a")
        row.append(
            _cell(
                best_time(emulpickle_engine(pure, **options), data, args.repeat), c_time
            )
        )
        if compiled is not None:
            engine = emulpickle_engine(compiled, **options)
            row.append(_cell(best_time(engine, data, args.repeat), c_time))
        else:
            row.append("n/a")
        print(" | ".join(row), flush=True)
    return 0


def _cell(seconds: float, base: float) -> str:
    return f"{seconds * 1e3:.0f} ({seconds / base:.2f}x)"


if __name__ == "__main__":
    raise SystemExit(main())
