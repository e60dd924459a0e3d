"""Shared helpers for the emulpickle-sklearn native tests (uniquely named)."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

from emulpickle_sklearn._native import register_native

import emulpickle

TIMEOUT = 60  # a hang guard, not a speed threshold


def native_registry() -> emulpickle.Registry:
    """The numpy plugin plus the native emulators (no estimator classes)."""
    registry = emulpickle.Registry.with_plugins("numpy")
    register_native(registry)
    return registry


REGISTRY = native_registry()


def emulate(data: bytes) -> Any:
    """Load ``data`` with the native registry."""
    return emulpickle.loads(data, registry=REGISTRY)


class Forged:
    """Pickles as ``func(*args)`` followed by a BUILD of ``state``: how a file
    names a real class with a state the real ``__reduce__`` never writes."""

    def __init__(self, func: Any, args: tuple[Any, ...], state: Any = None) -> None:
        self.reduced = (func, args) if state is None else (func, args, state)

    def __reduce__(self) -> Any:
        return self.reduced


def forged_bytes(
    func: Any, args: tuple[Any, ...], state: Any = None, protocol: int = 4
) -> bytes:
    """The pickle of :class:`Forged` (``copyreg.__newobj__`` needs protocol 1:
    from protocol 2 on, pickle insists the class is the pickled object's)."""
    return pickle.dumps(Forged(func, args, state), protocol=protocol)


def twice_built(func: Any, args: tuple[Any, ...], first: Any, second: Any) -> bytes:
    """``func(*args)`` with a BUILD of ``first`` and then one of ``second``
    (pickle itself never writes two; protocol 2, pure-Python pickler)."""
    buf = io.BytesIO()
    pickler = pickle._Pickler(buf, protocol=2)  # type: ignore[attr-defined]
    pickler.write(pickle.PROTO + b"\x02")
    pickler.save_reduce(func, args, first)
    pickler.save(second)
    pickler.write(pickle.BUILD + pickle.STOP)
    return buf.getvalue()


def rebuilt_later(
    func: Any, args: tuple[Any, ...], state: Any, array: Any, other: Any
) -> bytes:
    """``[func(*args) BUILD state, array]`` where ``array`` (an ndarray inside
    ``state``) is fetched again from the memo and given a second BUILD with
    ``other``'s contents after the object was made: a file changing an array
    the object already holds."""
    buf = io.BytesIO()
    pickler = pickle._Pickler(buf, protocol=2)  # type: ignore[attr-defined]
    pickler.write(pickle.PROTO + b"\x02" + pickle.MARK)
    pickler.save_reduce(func, args, state)
    key = pickler.memo[id(array)][0]
    pickler.write(pickle.LONG_BINGET + key.to_bytes(4, "little"))
    pickler.save(other.__reduce_ex__(2)[2])
    pickler.write(pickle.BUILD + pickle.LIST + pickle.STOP)
    return buf.getvalue()


def set_later(
    func: Any, args: tuple[Any, ...], state: Any, array: Any, index: int, value: int
) -> bytes:
    """``[func(*args) BUILD state]`` followed by ``array[index] = value`` on
    ``array`` (an ndarray inside ``state``) fetched again from the memo: a
    file changing, with SETITEM, an array the object already holds."""
    buf = io.BytesIO()
    pickler = pickle._Pickler(buf, protocol=2)  # type: ignore[attr-defined]
    pickler.write(pickle.PROTO + b"\x02" + pickle.MARK)
    pickler.save_reduce(func, args, state)
    key = pickler.memo[id(array)][0]
    pickler.write(pickle.LONG_BINGET + key.to_bytes(4, "little"))
    pickler.save(index)
    pickler.save(value)
    pickler.write(pickle.SETITEM + pickle.POP + pickle.LIST + pickle.STOP)
    return buf.getvalue()


#: Runs in the child: loads each file with emulpickle (the native registry)
#: or with pickle, then uses the object (``ACTIONS``); with RLIMIT_AS and no
#: core dumps. The canary is written once a load returned, before the object
#: is used: emulpickle must refuse before that.
CHILD = r"""
import json, pickle, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
import numpy as np
import emulpickle
from native_helpers import native_registry, ACTIONS

mode, canary, jobs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
registry = native_registry()
out = {}
for path, action in jobs:
    data = open(path, "rb").read()
    try:
        if mode == "emulpickle":
            obj = emulpickle.loads(data, registry=registry)
        elif mode == "check":
            from emulpickle_sklearn._native import ESTIMATOR_CHECKS
            qualname, state = pickle.loads(data)  # test-made, trusted
            ESTIMATOR_CHECKS[qualname](state)
            obj = None
        else:
            obj = pickle.loads(data)
    except emulpickle.UnpicklingError as exc:
        out[path] = ["refused", type(exc).__name__, str(exc)]
        continue
    open(canary, "a").write(path + "\n")
    print(json.dumps({"using": path}), flush=True)
    out[path] = ["used", repr(ACTIONS[action](obj))[:200]]
print(json.dumps(out))
"""


def _tree_predict(obj: Any) -> Any:
    import numpy as np

    # Zeros go left at every split of a tree fitted on positive data.
    return obj.predict(np.zeros((4, obj.n_features), dtype=np.float32)).sum()


def _kdtree_query(obj: Any) -> Any:
    import numpy as np

    data = np.asarray(obj.data)  # k = every sample: every leaf is visited
    return obj.query(data[:2] + 0.5, k=data.shape[0])[1].sum()


def _random_draw(obj: Any) -> Any:
    return obj.randint(0, 2**31 - 1, size=5000).sum()


def _sparse_use(obj: Any) -> Any:
    import numpy as np

    return (obj @ np.ones(obj.shape[1])).sum(), obj.toarray().sum()


def _predictor_predict(obj: Any) -> Any:
    import numpy as np

    bitsets = np.zeros((0, 8), dtype=np.uint32)
    fmap = np.zeros(4, dtype=np.uint32)
    return obj.predict(np.ones((4, 4)), bitsets, fmap, 1).sum()


def _precomputed_predict(obj: Any) -> Any:
    import numpy as np

    kernel = np.ones((3, obj.shape_fit_[0]))
    return obj.predict(kernel).tolist()


def _nothing(obj: Any) -> Any:
    return type(obj).__name__


ACTIONS = {
    "tree": _tree_predict,
    "kdtree": _kdtree_query,
    "random": _random_draw,
    "sparse": _sparse_use,
    "predictor": _predictor_predict,
    "precomputed": _precomputed_predict,
    "none": _nothing,
}


def run_child(
    mode: str, jobs: list[tuple[Path, str]], tmp_path: Path
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run :data:`CHILD` on ``jobs`` (``(file, action)``); the process and canary."""
    canary = tmp_path / f"canary-{mode}"
    env_path = [str(Path(__file__).parent), *sys.path]
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            mode,
            str(canary),
            json.dumps([[str(p), a] for p, a in jobs]),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(env_path)),
    )
    return proc, canary


def refused_all(
    jobs: list[tuple[Path, str]], tmp_path: Path, mode: str = "emulpickle"
) -> dict[str, list[str]]:
    """Every job refused with an UnpicklingError; nothing reached the canary."""
    proc, canary = run_child(mode, jobs, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not canary.exists(), canary.read_text()
    result: dict[str, list[str]] = json.loads(proc.stdout.splitlines()[-1])
    for path, _ in jobs:
        assert result[str(path)][0] == "refused", (path, result[str(path)])
        assert result[str(path)][1] == "EmulationError", result[str(path)]
    return result
