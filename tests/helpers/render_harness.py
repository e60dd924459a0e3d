"""Run attacks on renderings of pickle-chosen values in a child process.

Shared by the render tests of the core and of the numpy and torch plugins.
A pickle of a few hundred bytes builds a tuple shared 2**40 times, a list
nested hundreds of thousands deep, an int of millions of bits or a cyclic
list; anything that renders or walks it naively (``repr`` in an error
message, an object's ``__repr__``, a conversion) never finishes, runs out of
memory, or raises something other than an ``emulpickle.UnpicklingError``.

Every case of a test module runs in one child interpreter (its address space
bounded with ``RLIMIT_AS``, the whole child bounded by a 60 s hang guard),
which reports for each case what happened; the tests then check each report.
The child is given a canary path that the generic-mode pickles would create
if anything they name were run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The hang guard for one child (all cases of a module), in seconds;
#: ``EMULPICKLE_RENDER_GUARD`` changes it (a short one makes checking the old
#: code case by case, with ``EMULPICKLE_RENDER_ISOLATE=1``, quicker).
HANG_GUARD = float(os.environ.get("EMULPICKLE_RENDER_GUARD", "60"))
#: Address space of the child: far more than any bounded rendering needs, far
#: less than an unbounded one of a 2**40-path DAG takes before it gives up.
CHILD_MEMORY = 3 << 30
#: Longest message (or rendering) a test accepts.
MAX_TEXT = 2000

# ---------------------------------------------------------------- pickles

PROTO4 = b"\x80\x04"
NONE = b"N"
DUP = b"2"
TUPLE1 = b"\x85"
TUPLE2 = b"\x86"
TUPLE3 = b"\x87"
MARK = b"("
TUPLE = b"t"
REDUCE = b"R"
BUILD = b"b"
STOP = b"."
EMPTY_LIST = b"]"
EMPTY_TUPLE = b")"
APPEND = b"a"


def short_str(text: str) -> bytes:
    """SHORT_BINUNICODE (or BINUNICODE for long text)."""
    raw = text.encode()
    if len(raw) < 256:
        return b"\x8c" + bytes([len(raw)]) + raw
    return b"X" + len(raw).to_bytes(4, "little") + raw


def stack_global(module: str, name: str) -> bytes:
    return short_str(module) + short_str(name) + b"\x93"


def call(func: bytes, *args: bytes) -> bytes:
    """``func(*args)``: each argument is a fragment that pushes one value."""
    return func + MARK + b"".join(args) + TUPLE + REDUCE


def dag(levels: int = 40, leaf: bytes = NONE) -> bytes:
    """``x = (x, x)`` ``levels`` times over ``leaf``: 2**levels paths, 41 tuples."""
    return leaf + (DUP + TUPLE2) * levels


def deep_list(depth: int = 200_000) -> bytes:
    """A list nested ``depth`` deep (one EMPTY_LIST per level, then APPENDs)."""
    return EMPTY_LIST * depth + APPEND * (depth - 1)


def huge_int(nbytes: int = 1 << 20) -> bytes:
    """LONG4: an int of ``8 * nbytes`` bits (str() refuses over 4300 digits)."""
    return b"\x8b" + nbytes.to_bytes(4, "little") + b"\x5a" * nbytes


def cyclic_list() -> bytes:
    """A list that contains itself (memo slot 0x7A000 is this module's)."""
    slot = (0x7A000).to_bytes(4, "little")
    return EMPTY_LIST + b"r" + slot + b"j" + slot + APPEND


#: The hostile values, by name: each fragment pushes one value.
HOSTILE: dict[str, bytes] = {
    "dag": dag(),
    "deep": deep_list(),
    "bigint": huge_int(),
    "cycle": cyclic_list(),
}


def pickle_of(body: bytes) -> bytes:
    return PROTO4 + body + STOP


# ----------------------------------------------------------------- child

_CHILD = r"""
import json, os, resource, sys, time
spec = json.loads(open(sys.argv[1]).read())
resource.setrlimit(resource.RLIMIT_AS, (spec["memory"], spec["memory"]))
sys.setrecursionlimit(10000)
import emulpickle

scope = {"CANARY": spec["canary"]}
exec(compile(spec["setup"], "<setup>", "exec"), scope)
results = {}
for name, case in spec["cases"].items():
    out = {}
    start = time.perf_counter()
    try:
        text = scope["ACTIONS"][case["action"]](case["path"])
        out["outcome"] = "result"
        out["text_len"] = len(text)
        out["text"] = text[:500]
    except emulpickle.UnpicklingError as exc:
        message = str(exc)
        out["outcome"] = "error"
        out["type"] = type(exc).__name__
        out["message_len"] = len(message)
        out["message"] = message[:500]
    except BaseException as exc:  # MemoryError, RecursionError, ValueError...
        out["outcome"] = "unexpected"
        out["type"] = type(exc).__name__
        out["message"] = str(exc)[:500]
    out["elapsed"] = time.perf_counter() - start
    results[name] = out
    sys.stdout.write(json.dumps({name: out}) + "\n")
    sys.stdout.flush()
os._exit(0)  # skip tearing down deep values
"""


class Case(NamedTuple):
    """One attack: ``action`` (a name the setup code's ACTIONS maps to a
    function of the input file's path) applied to ``data``."""

    data: bytes
    action: str
    expect: str  # "error" (with this text in the message) or "text"
    match: str | tuple[str, ...] = ""  # text(s) the message or text shows
    max_len: int = MAX_TEXT  # longest message or text accepted


def run_cases(
    tmp_path: Path, setup: str, cases: dict[str, Case]
) -> tuple[dict[str, dict[str, Any]], Path]:
    """Run every case in one child; its reports by case name, and the canary.

    A case missing from the reports is one the child did not finish (it hung
    past the guard, or crashed). With ``EMULPICKLE_RENDER_ISOLATE=1`` each
    case gets a child (and a guard) of its own: slower, but one hanging case
    does not hide the outcome of the others.
    """
    canary = tmp_path / "canary"
    if os.environ.get("EMULPICKLE_RENDER_ISOLATE") == "1":
        reports: dict[str, dict[str, Any]] = {}
        for i, (name, case) in enumerate(cases.items()):
            where = tmp_path / f"isolated{i}"
            where.mkdir()
            reports.update(_run_child(where, setup, {name: case}, canary))
        return reports, canary
    return _run_child(tmp_path, setup, cases, canary), canary


def _run_child(
    tmp_path: Path, setup: str, cases: dict[str, Case], canary: Path
) -> dict[str, dict[str, Any]]:
    paths = {}
    for i, (name, case) in enumerate(cases.items()):
        path = tmp_path / f"case{i}.bin"
        path.write_bytes(case.data)
        paths[name] = {"path": str(path), "action": case.action}
    spec_path = tmp_path / "spec.json"
    spec = {
        "memory": CHILD_MEMORY,
        "canary": str(canary),
        "setup": setup,
        "cases": paths,
    }
    spec_path.write_text(json.dumps(spec))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    roots = [str(REPO_ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in roots if p)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(spec_path)],
            capture_output=True,
            timeout=HANG_GUARD,
            cwd=tmp_path,
            env=env,
            check=False,
        )
        stdout = proc.stdout
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout or b""
    reports: dict[str, dict[str, Any]] = {}
    for line in stdout.decode(errors="replace").splitlines():
        if line.startswith("{"):
            reports.update(json.loads(line))
    return reports


def _texts(match: str | tuple[str, ...]) -> tuple[str, ...]:
    return (match,) if isinstance(match, str) else match


def with_cycle_mark(kind: str, match: str) -> str | tuple[str, ...]:
    """What a case shows: ``match``, and for a cycle also bounded_repr's mark
    for it (``repr`` showed a cycle of lists as ``[...]``, which was bounded
    already; this checks that the value went through ``bounded_repr``)."""
    return (match, "<shared list>") if kind == "cycle" else match


def check_case(name: str, case: Case, reports: dict[str, dict[str, Any]]) -> None:
    """The case ended as expected: an UnpicklingError with a short message
    naming what was wrong, or a short rendering."""
    report = reports.get(name)
    assert report is not None, f"{name}: the child hung or crashed before finishing it"
    if case.expect == "error":
        assert report["outcome"] == "error", report
        assert report["message_len"] <= case.max_len, report
        assert all(m in report["message"] for m in _texts(case.match)), report
    else:
        assert report["outcome"] == "result", report
        assert report["text_len"] <= case.max_len, report
        assert all(m in report["text"] for m in _texts(case.match)), report
