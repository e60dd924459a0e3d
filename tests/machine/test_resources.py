"""Time and memory stay bounded by the input, whatever its length prefixes say.

Each case runs in a fresh interpreter so its peak RSS can be measured
(``resource.getrusage(RUSAGE_SELF).ru_maxrss`` before and after the load), with
a wall-clock timeout on the whole child. Inputs are tiny (or, for the nesting
cases, a few MB) but claim huge sizes, huge memo indices or huge depths.

Modes: ``loads`` (bytes in memory), ``file`` (a real file opened ``"rb"``, so
a ``read(2**62)`` would really try to allocate) and ``stream`` (an object with
only ``read``/``readline`` that records the largest read requested).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from helpers import paths
from helpers import pickle_bytes as pb

import emulpickle

REPO_ROOT = str(paths.REPO_ROOT)
MB = 1024 * 1024
DEFAULT_READ_CHUNK = emulpickle.Limits().read_chunk

CHILD = r"""
import json, os, resource, sys, time
import emulpickle

spec = json.loads(sys.argv[1])
kwargs = {}
if spec["limits"]:
    kwargs["limits"] = emulpickle.Limits(**spec["limits"])


class Stream:
    # read() and readline() only; remembers the largest read asked for
    def __init__(self, data):
        self.data = data
        self.pos = 0
        self.max_request = 0

    def read(self, n=-1):
        if n is None or n < 0:
            n = len(self.data) - self.pos
        self.max_request = max(self.max_request, n)
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk

    def readline(self, size=-1):
        end = self.data.find(b"\n", self.pos)
        end = len(self.data) if end < 0 else end + 1
        if size is not None and size >= 0:
            end = min(end, self.pos + size)
        self.max_request = max(self.max_request, end - self.pos)
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk


with open(spec["path"], "rb") as f:
    data = f.read()
stream = Stream(data) if spec["mode"] == "stream" else None
fileobj = open(spec["path"], "rb") if spec["mode"] == "file" else None

out = {}
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
try:
    if spec["mode"] == "loads":
        obj = emulpickle.loads(data, **kwargs)
    elif spec["mode"] == "file":
        obj = emulpickle.load(fileobj, **kwargs)
    else:
        obj = emulpickle.load(stream, **kwargs)
    out["outcome"] = "result"
    out["type"] = type(obj).__name__
except emulpickle.UnpicklingError as e:
    out["outcome"] = "error"
    out["type"] = type(e).__name__
    out["limit"] = getattr(e, "limit", None)
    out["message"] = str(e)[:300]
except BaseException as e:
    out["outcome"] = "unexpected"
    out["type"] = type(e).__name__
    out["message"] = repr(e)[:300]
out["elapsed"] = time.perf_counter() - t0
out["rss_growth"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) * 1024
out["max_request"] = stream.max_request if stream is not None else None
out["input_size"] = len(data)
sys.stdout.write(json.dumps(out) + "\n")
sys.stdout.flush()
os._exit(0)  # skip tearing down (possibly very deep) results
"""


class Case(NamedTuple):
    data: bytes
    expect: str  # "result", "error", "result-or-error", or an error class name
    modes: tuple[str, ...] = ("loads", "file", "stream")
    limit: str | None = None  # expected LimitExceededError.limit
    # A hang guard, not a speed test (the machine is shared and CI has two
    # cores): a length prefix obeyed, or quadratic work, takes minutes here.
    seconds: float = 20.0  # hang guard on the load itself, measured in the child
    rss: int = 50 * MB  # budget for peak RSS growth during the load
    timeout: float = 60.0  # wall-clock limit for the whole child process
    limits: dict[str, int] | None = None


def run_child(tmp_path: Path, case: Case, mode: str) -> dict[str, Any]:
    path = tmp_path / "input.pickle"
    path.write_bytes(case.data)
    spec = {"path": str(path), "mode": mode, "limits": case.limits}
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(spec)],
            capture_output=True,
            timeout=case.timeout,
            cwd=tmp_path,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"child did not finish within {case.timeout} s")
    wall = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    result: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    result["wall"] = wall
    return result


def check(result: dict[str, Any], case: Case, mode: str) -> None:
    assert result["outcome"] != "unexpected", result
    if case.expect == "result":
        assert result["outcome"] == "result", result
    elif case.expect == "error":
        assert result["outcome"] == "error", result
    elif case.expect == "result-or-error":
        assert result["outcome"] in ("result", "error"), result
    else:
        assert (result["outcome"], result["type"]) == ("error", case.expect), result
    if case.limit is not None:
        assert result["limit"] == case.limit, result
    assert result["elapsed"] < case.seconds, result
    assert result["rss_growth"] < case.rss, result
    if mode == "stream":
        read_chunk = (case.limits or {}).get("read_chunk", DEFAULT_READ_CHUNK)
        assert result["max_request"] <= read_chunk + result["input_size"], result


def u8(n: int) -> bytes:
    return pb.u8(n)


P4 = b"\x80\x04"
P5 = b"\x80\x05"
MAXSIZE = sys.maxsize

# ---- untrusted length prefixes -------------------------------------------------

HUGE_PREFIXES: dict[str, Case] = {
    "BINBYTES8-2**62": Case(P4 + b"\x8e" + u8(2**62) + b"abc", "TruncatedError"),
    "BINBYTES8-maxsize": Case(P4 + b"\x8e" + u8(MAXSIZE) + b"abc", "TruncatedError"),
    "BINUNICODE8-2**62": Case(P4 + b"\x8d" + u8(2**62) + b"abc", "TruncatedError"),
    "BYTEARRAY8-2**62": Case(P5 + b"\x96" + u8(2**62) + b"abc", "TruncatedError"),
    "BINBYTES-4GiB": Case(P4 + b"B" + pb.u4(0xFFFFFFFF) + b"abc", "TruncatedError"),
    "BINUNICODE-4GiB": Case(P4 + b"X" + pb.u4(0xFFFFFFFF) + b"abc", "TruncatedError"),
    "BINSTRING-2GiB": Case(b"\x80\x02T" + pb.i4(2**31 - 1) + b"abc", "TruncatedError"),
    "LONG4-2GiB": Case(b"\x80\x02\x8b" + pb.i4(2**31 - 1) + b"\x01", "TruncatedError"),
    "FRAME-2**62": Case(P4 + b"\x95" + u8(2**62) + b"N.", "TruncatedError"),
    "FRAME-maxsize": Case(P4 + b"\x95" + u8(MAXSIZE) + b"N.", "TruncatedError"),
    "FRAME-2**62-after-a-frame": Case(
        P4 + pb.frame(b"]") + b"\x95" + u8(2**62) + b"N.", "TruncatedError"
    ),
    "BINBYTES8-2**62-inside-frame": Case(
        P4 + pb.frame(b"\x8e" + u8(2**62) + b"abc"), "error"
    ),
    "BINBYTES8-1GiB-with-1MiB-present": Case(
        P4 + b"\x8e" + u8(2**30) + b"x" * MB, "TruncatedError"
    ),
    "INT-4MiB-line-without-newline": Case(b"I" + b"1" * (4 * MB), "TruncatedError"),
    "INT-1M-digits": Case(b"I" + b"7" * 1_000_000 + b"\n.", "error"),
    "LONG-1M-digits": Case(b"L" + b"7" * 1_000_000 + b"L\n.", "error"),
}

# ---- memo indices ----------------------------------------------------------------

MEMO: dict[str, Case] = {
    # 9 bytes: PROTO 2, NONE, LONG_BINPUT 0x3fffffff, STOP
    "LONG_BINPUT-0x3fffffff": Case(b"\x80\x02Nr\xff\xff\xff\x3f.", "result"),
    "LONG_BINPUT-0xffffffff": Case(b"\x80\x02Nr\xff\xff\xff\xff.", "result"),
    "LONG_BINPUT-then-LONG_BINGET-0x3fffffff": Case(
        b"\x80\x02Nr\xff\xff\xff\x3fj\xff\xff\xff\x3f.", "result"
    ),
    "LONG_BINGET-0xffffffff-missing": Case(b"\x80\x02j\xff\xff\xff\xff.", "error"),
    "PUT-decimal-10**18": Case(b"Np1000000000000000000\n.", "result-or-error"),
    "PUT-decimal-10**30": Case(b"Np" + b"1" + b"0" * 30 + b"\n.", "result-or-error"),
    "GET-decimal-10**30-missing": Case(b"Ng" + b"1" + b"0" * 30 + b"\n.", "error"),
    "10000-scattered-huge-LONG_BINPUTs": Case(
        b"\x80\x02N"
        + b"".join(b"r" + pb.u4(0xFFFFFFFF - 7919 * i) for i in range(10_000))
        + b".",
        "result",
    ),
}

# ---- nesting depth -----------------------------------------------------------------

N = 1_000_000
DEEP: dict[str, Case] = {
    "1M-MARKs": Case(
        b"\x80\x02" + b"(" * N + b".",
        "LimitExceededError",
        ("loads", "file"),
        limit="max_mark_depth",
    ),
    "1M-MARKs-without-STOP": Case(
        b"(" * N, "LimitExceededError", ("loads",), limit="max_mark_depth"
    ),
    # A million real list objects need ~100 MB in CPython too (the C unpickler
    # peaks at ~100 MB and 0.6 s here), and 2M opcodes in pure Python take more
    # than a second: the budget is 2x CPython's memory.
    "1M-nested-lists-EMPTY_LIST-APPEND": Case(
        b"\x80\x02" + b"]" * N + b"a" * (N - 1) + b".",
        "result-or-error",
        ("loads",),
        rss=200 * MB,
    ),
    "100k-nested-tuples-MARK-TUPLE": Case(
        b"\x80\x02" + b"(" * 100_000 + b"t" * 100_000 + b".",
        "result",
        ("loads", "file"),
    ),
    "100001-nested-tuples-MARK-TUPLE": Case(
        b"\x80\x02" + b"(" * 100_001 + b"t" * 100_001 + b".",
        "LimitExceededError",
        ("loads",),
        limit="max_mark_depth",
    ),
    "1M-MARKs-custom-limit-ok": Case(
        b"\x80\x02" + b"(" * N + b"t" * N + b".",
        "result",
        ("loads",),
        limits={"max_mark_depth": 2 * N},
        rss=200 * MB,
    ),
}


def _params(table: dict[str, Case], modes: tuple[str, ...] | None = None) -> list[Any]:
    return [
        pytest.param(case, mode, id=f"{name}-{mode}")
        for name, case in table.items()
        for mode in (modes or case.modes)
    ]


@pytest.mark.parametrize(("case", "mode"), _params(HUGE_PREFIXES))
def test_huge_length_prefix(case: Case, mode: str, tmp_path: Path) -> None:
    check(run_child(tmp_path, case, mode), case, mode)


# the memo does not care where bytes come from: bytes and a real file suffice
@pytest.mark.parametrize(("case", "mode"), _params(MEMO, ("loads", "file")))
def test_huge_memo_index(case: Case, mode: str, tmp_path: Path) -> None:
    check(run_child(tmp_path, case, mode), case, mode)


@pytest.mark.parametrize(("case", "mode"), _params(DEEP))
def test_deep_nesting(case: Case, mode: str, tmp_path: Path) -> None:
    check(run_child(tmp_path, case, mode), case, mode)


def test_memo_index_9_byte_pickle_is_9_bytes() -> None:
    assert len(MEMO["LONG_BINPUT-0x3fffffff"].data) == 9


# ---- quick in-process checks of the same limits ---------------------------------


@pytest.mark.parametrize("depth", [1, 9, 10])
def test_mark_depth_limit_allows_up_to_the_limit(depth: int) -> None:
    data = b"(" * depth + b"t" * depth + b"."
    limits = emulpickle.Limits(max_mark_depth=10)
    got = emulpickle.loads(data, limits=limits)
    for _ in range(depth - 1):
        assert isinstance(got, tuple) and len(got) == 1
        got = got[0]
    assert got == ()
    assert emulpickle.load(io.BytesIO(data), limits=limits) is not None


@pytest.mark.parametrize("depth", [11, 50])
def test_mark_depth_limit_refuses_beyond(depth: int) -> None:
    data = b"(" * depth + b"t" * depth + b"."
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.loads(data, limits=emulpickle.Limits(max_mark_depth=10))
    assert info.value.limit == "max_mark_depth"
    assert info.value.opcode == "MARK"
    assert info.value.offset == 10


def test_mark_depth_counts_open_marks_not_total_marks() -> None:
    # 1000 MARK/TUPLE pairs in sequence never have more than one MARK open
    data = b"](" + b"(t" * 1000 + b"e."
    got = emulpickle.loads(data, limits=emulpickle.Limits(max_mark_depth=2))
    assert got == [()] * 1000


class RecordingStream:
    def __init__(self, data: bytes) -> None:
        self._f = io.BytesIO(data)
        self.requests: list[int] = []

    def read(self, n: int = -1) -> bytes:
        self.requests.append(n)
        return self._f.read(n)

    def readline(self, size: int = -1) -> bytes:
        line = self._f.readline(size)
        self.requests.append(len(line))
        return line


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(P4 + b"\x8e" + u8(10**9) + b"x" * 100_000, id="BINBYTES8"),
        pytest.param(P4 + b"\x8d" + u8(10**9) + b"x" * 100_000, id="BINUNICODE8"),
        pytest.param(P5 + b"\x96" + u8(10**9) + b"x" * 100_000, id="BYTEARRAY8"),
        pytest.param(P4 + b"\x95" + u8(10**9) + b"x" * 100_000, id="FRAME"),
        pytest.param(b"\x80\x02\x8b" + pb.i4(2**31 - 1) + b"x" * 100_000, id="LONG4"),
    ],
)
def test_small_read_chunk_bounds_each_read(data: bytes) -> None:
    stream = RecordingStream(data)
    with pytest.raises(emulpickle.TruncatedError):
        emulpickle.load(stream, limits=emulpickle.Limits(read_chunk=4096))
    assert max(stream.requests) <= 4096 + len(data)
    assert all(n >= 0 for n in stream.requests)


def test_small_read_chunk_still_loads_big_values() -> None:
    payload = {
        "b": b"\x00" * 300_000,
        "s": "y" * 300_000,
        "ba": bytearray(b"z" * 70_000),
    }
    for protocol in (2, 3, 4, 5):
        data = __import__("pickle").dumps(payload, protocol=protocol)
        got = emulpickle.load(
            RecordingStream(data), limits=emulpickle.Limits(read_chunk=1000)
        )
        assert got == payload
