"""Fuzzing with shared subtrees: every load ends quickly, in a value or an error.

Hypothesis writes pickles whose values share subtrees through DUP or
MEMOIZE/GET (``x = (x, x)`` forty times: 2**40 paths), nest deep, hold huge
ints or cycles, and puts them where the machine, the emulators and the
loaders render or walk them: REDUCE and NEWOBJ arguments of every registered
emulator (core, numpy, torch) and of unknown globals, BUILD states, dict
keys, set items, list items and persistent ids (as given to a hook, and to
the torch zip, legacy and tar loaders). Each load, and then ``to_builtins``,
``bounded_repr``, ``repr`` of our objects and the ``emulpickle show`` tree of
what it returned, must end in a value or an ``emulpickle.UnpicklingError``
with a bounded message.

The loads run in a long-lived worker process (its memory bounded by
``RLIMIT_AS``), with a hang guard per example. The default run is a bounded
sample; for the long form, set ``EMULPICKLE_RENDER_FUZZ_EXAMPLES``::

    EMULPICKLE_RENDER_FUZZ_EXAMPLES=20000 \
        python -m pytest tests/hostile/test_render_fuzz.py
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import emulpickle

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("EMULPICKLE_RENDER_FUZZ_EXAMPLES", "150"))
#: Seconds one example may take before the worker counts as hung.
HANG_GUARD = 30.0
#: Longest error message accepted.
MAX_MESSAGE = 5000

# Globals the pickles call: every registered one, unknown ones (generic in
# that mode), and a payload that must never run.
_REGISTRY = emulpickle.Registry.with_plugins("numpy", "torch")
#: Emulators whose messages are still unbounded (owned elsewhere; see the
#: render report): builtins.str renders its argument, defaultdict its
#: factory, array.array its typecode.
_SKIPPED = {
    ("builtins", "str"),
    ("collections", "defaultdict"),
    ("array", "array"),
}
GLOBALS = sorted(
    {name for name in _REGISTRY.names() if name not in _SKIPPED}
    | {("render_fuzz", "Unknown"), ("os", "system")}
)

# ------------------------------------------------------------------ worker

_WORKER = r"""
import io, json, os, resource, sys, zipfile
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
sys.setrecursionlimit(10000)
import emulpickle
import emulpickle_torch as et
from emulpickle.cli import tensors as _cli_tensors
from emulpickle.cli import tree as _cli_tree

REG = emulpickle.Registry.with_plugins("numpy", "torch")
MAGIC = (b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."
         b"\x80\x02M\xe9\x03.\x80\x02}.")


def zip_of(data):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", data)
        archive.writestr("archive/byteorder", b"little")
        archive.writestr("archive/data/0", bytes(16))
    return buffer.getvalue()


def load(mode, data):
    if mode == "error":
        return emulpickle.loads(data, registry=REG, persistent_load=lambda pid: pid)
    if mode == "generic":
        return emulpickle.loads(
            data, registry=REG, unknown="generic", persistent_load=lambda pid: pid
        )
    if mode == "torch-zip":
        return et.load(zip_of(data))
    return et.load(MAGIC + data)  # torch-legacy


def render(value):
    # What a user (and the CLI) does with a loaded value.
    emulpickle.bounded_repr(value)
    emulpickle.to_builtins(value, max_depth=64)
    _cli_tree.build_tree(value, depth=6, max_items=50, max_lines=200)
    _cli_tensors.find_tensors(value)
    if type(value).__module__.startswith(("emulpickle", "emulpickle_torch")):
        repr(value)


stdin, stdout = sys.stdin.buffer, sys.stdout
while True:
    head = stdin.readline()
    if not head:
        break
    request = json.loads(head)
    data = stdin.read(request["size"])
    report = {}
    try:
        value = load(request["mode"], data)
        render(value)
        report["outcome"] = "result"
    except emulpickle.UnpicklingError as exc:
        message = str(exc)
        report.update(outcome="error", message=message[:300], length=len(message))
    except BaseException as exc:
        report.update(outcome="unexpected", type=type(exc).__name__,
                      message=repr(exc)[:500])
    stdout.write(json.dumps(report) + "\n")
    stdout.flush()
"""


class _Worker:
    """A child interpreter that loads pickles on request."""

    def __init__(self) -> None:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        roots = [str(REPO_ROOT), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in roots if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def run(self, mode: str, data: bytes) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request = json.dumps({"mode": mode, "size": len(data)}).encode()
        self.proc.stdin.write(request + b"\n" + data)
        self.proc.stdin.flush()
        import selectors

        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            if not selector.select(HANG_GUARD):
                self.close()
                pytest.fail(f"{mode} load of {data[:200]!r}... hung")
        line = self.proc.stdout.readline()
        if not line:
            self.close()
            pytest.fail(f"worker died on {mode} load of {data[:200]!r}...")
        report: dict[str, Any] = json.loads(line)
        return report

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="module")
def worker() -> Iterator[_Worker]:
    w = _Worker()
    yield w
    w.close()


# ----------------------------------------------------------------- pickles


def _u(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


class _Writer:
    """Compiles a value description into opcodes, numbering memo slots."""

    def __init__(self) -> None:
        self.memo = 0

    def memoize(self) -> tuple[bytes, int]:
        self.memo += 1
        return b"\x94", self.memo - 1

    @staticmethod
    def get(index: int) -> bytes:
        return b"j" + struct.pack("<I", index)

    def value(self, spec: Any) -> bytes:
        kind = spec[0]
        if kind == "leaf":
            return {
                "none": b"N",
                "int": b"K\x07",
                "str": _u("s"),
                "bytes": b"C\x01b",
                "float": b"G" + struct.pack(">d", 1.5),
                "bigint": b"\x8b" + struct.pack("<i", 40000) + b"\x11" * 40000,
                "typestr": _u("<f4"),
            }[spec[1]]
        if kind == "dag":
            _, levels, how, inner = spec
            out = self.value(inner)
            for _ in range(levels):
                if how == "dup":
                    out += b"2\x86"
                    continue
                memo_op, index = self.memoize()
                get = self.get(index)
                if how == "tuple":
                    out += memo_op + b"0" + get + get + b"\x86"
                elif how == "list":
                    out += memo_op + b"0" + b"(" + get + get + b"l"
                else:  # dict
                    out += memo_op + b"0" + b"}" + _u("a") + get + _u("b") + get + b"u"
            return out
        if kind == "deep":
            depth = spec[1]
            if spec[2] == "list":
                return b"]" * depth + b"a" * (depth - 1)
            return b"N" + b"\x85" * depth
        if kind == "cycle":
            memo_op, index = self.memoize()
            return b"]" + memo_op + self.get(index) + b"a"
        if kind in ("list", "tuple", "set"):
            items = b"".join(self.value(item) for item in spec[1])
            close = {"list": b"l", "tuple": b"t", "set": b"\x91"}[kind]
            return b"(" + items + close
        if kind == "dict":
            pairs = b"".join(self.value(k) + self.value(v) for k, v in spec[1])
            return b"}(" + pairs + b"u"
        if kind in ("call", "newobj"):
            (module, name), args = spec[1], spec[2]
            func = _u(module) + _u(name) + b"\x93"
            items = b"".join(self.value(arg) for arg in args)
            op = b"R" if kind == "call" else b"\x81"
            return func + b"(" + items + b"t" + op
        if kind == "build":
            (module, name), state = spec[1], spec[2]
            return _u(module) + _u(name) + b"\x93)R" + self.value(state) + b"b"
        if kind == "persid":
            return self.value(spec[1]) + b"Q"
        raise AssertionError(kind)


def compile_pickle(spec: Any) -> bytes:
    return b"\x80\x04" + _Writer().value(spec) + b"."


_leaves = st.one_of(
    st.sampled_from(["none", "int", "str", "bytes", "float", "bigint", "typestr"]).map(
        lambda k: ("leaf", k)
    ),
    st.tuples(
        st.just("deep"), st.integers(1, 100_000), st.sampled_from(["list", "tuple"])
    ),
    st.just(("cycle",)),
)


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    items = st.lists(children, max_size=4)
    return st.one_of(
        st.tuples(
            st.just("dag"),
            st.integers(1, 40),
            st.sampled_from(["dup", "tuple", "list", "dict"]),
            children,
        ),
        st.tuples(st.sampled_from(["list", "tuple", "set"]), items),
        st.tuples(st.just("dict"), st.lists(st.tuples(children, children), max_size=3)),
        st.tuples(st.sampled_from(["call", "newobj"]), st.sampled_from(GLOBALS), items),
        st.tuples(st.just("build"), st.sampled_from(GLOBALS), children),
        st.tuples(st.just("persid"), children),
    )


values = st.recursive(_leaves, _extend, max_leaves=12)
modes = st.sampled_from(["error", "generic", "torch-zip", "torch-legacy"])

DAG40 = ("dag", 40, "dup", ("leaf", "none"))
MEMO_DAG40 = ("dag", 40, "tuple", ("leaf", "str"))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(spec=values, mode=modes)
@example(spec=("call", ("numpy", "dtype"), [DAG40]), mode="error")
@example(spec=("persid", DAG40), mode="torch-zip")
@example(spec=("persid", MEMO_DAG40), mode="torch-legacy")
@example(
    spec=("dict", [(("dag", 20, "tuple", ("leaf", "int")), DAG40)]), mode="generic"
)
@example(spec=("build", ("render_fuzz", "Unknown"), MEMO_DAG40), mode="generic")
@example(spec=("call", ("render_fuzz", "Unknown"), [DAG40, ("cycle",)]), mode="generic")
@example(spec=("call", ("builtins", "slice"), [DAG40]), mode="generic")
@example(
    spec=("call", ("torch._utils", "_rebuild_tensor_v3"), [DAG40] * 7), mode="error"
)
@example(spec=("dag", 40, "dict", ("leaf", "none")), mode="generic")
@example(spec=("deep", 100_000, "list"), mode="generic")
def test_loads_of_shared_subtrees_end(worker: _Worker, spec: Any, mode: str) -> None:
    data = compile_pickle(spec)
    report = worker.run(mode, data)
    assert report["outcome"] in ("result", "error"), (spec, mode, report)
    if report["outcome"] == "error":
        assert report["length"] <= MAX_MESSAGE, (spec, mode, report)
