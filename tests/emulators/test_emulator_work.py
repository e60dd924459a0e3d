"""Every emulator's work grows at most linearly with the pickle that drives it.

For each global the default registry answers (iterated, so a new emulator
without shapes here fails :func:`test_every_emulator_has_shapes`), a few
worst-case argument shapes are built at two scales, ``SMALL`` and
``8 * SMALL`` bytes of pickle, and loaded in a child interpreter. What is
compared is the child's CPU time (``time.process_time``, the best of three,
with the garbage collector off), which a loaded machine disturbs far less
than wall time. Linear work grows ~8x; the check allows 32x above a floor of
a few milliseconds, while the bombs this guards against (quadratic codecs,
base conversions, gcds, exponential reprs) grew 60x to forever. The child's
wall-clock timeout is only a hang guard.

Each shape must also end in a result or an :class:`emulpickle.UnpicklingError`.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.paths import REPO_ROOT

import emulpickle

SMALL = 16_000
GROWTH = 8
#: Linear work may grow GROWTH x; allow 4x more than that for noise.
ALLOWED_RATIO = 4 * GROWTH
#: Loads cheaper than this count as this much (timer resolution, overhead).
FLOOR_SECONDS = 0.005
HANG_GUARD_SECONDS = 120

Shape = Callable[[int], bytes]


# ---------------------------------------------------------------- builders


class Raw:
    """Opcodes spliced into a pickle as one argument."""

    def __init__(self, ops: bytes) -> None:
        self.ops = ops


def _ops(value: Any) -> bytes:
    """The opcodes that push ``value`` (protocol 3: no frames, raw bytes)."""
    if isinstance(value, Raw):
        return value.ops
    if isinstance(value, tuple) and any(isinstance(v, Raw) for v in value):
        return b"(" + b"".join(_ops(v) for v in value) + b"t"
    if isinstance(value, dict) and any(isinstance(v, Raw) for v in value.values()):
        items = b"".join(_ops(k) + _ops(v) for k, v in value.items())
        return b"}(" + items + b"u"
    # Fragments are spliced: each PUTs before it GETs, so memo slots that
    # several fragments reuse are always rewritten before they are read.
    return pickle.dumps(value, 3)[2:-1]


def _global(module: str, name: str) -> bytes:
    return f"c{module}\n{name}\n".encode()


def call(module: str, name: str, *args: Any) -> Raw:
    """``module.name(*args)`` (REDUCE)."""
    return Raw(_global(module, name) + _ops(tuple(args)) + b"R")


def new_build(module: str, name: str, state: Any) -> Raw:
    """``module.name.__new__(...)`` (NEWOBJ) followed by BUILD with ``state``."""
    return Raw(_global(module, name) + b")\x81" + _ops(state) + b"b")


def whole(value: Raw) -> bytes:
    return b"\x80\x03" + value.ops + b"."


def _rng(n: int) -> random.Random:
    return random.Random(n)


def big_int(n: int) -> int:
    """An int of ``n`` bytes with no structure a gcd could exploit."""
    return int.from_bytes(_rng(n).randbytes(n), "little") | 1


def distinct_text(n: int) -> str:
    """``n // 3`` distinct non-ASCII characters: punycode's worst case."""
    return "".join(chr(0x100 + i) for i in range(n // 3))


def shared_tuple(n: int) -> Raw:
    """A tuple of depth ~log2(n) + 20, each level holding the one below twice.

    2**34 paths and more: anything that walks it without noticing the
    sharing never finishes.
    """
    # K 0, then per level: DUP TUPLE2 (the same object twice)
    return Raw(b"K\x00" + b"2\x86" * (20 + n.bit_length()))


def deep_tuple(n: int) -> Raw:
    """Tuples nested ``n // 4`` deep (past the C recursion CPython allows)."""
    return Raw(b"K\x00" + b"\x85" * (n // 4))


def small_ints(n: int) -> list[int]:
    return [i % 250 for i in range(n // 2)]


def pairs(n: int) -> list[tuple[int, int]]:
    return [(i, i) for i in range(n // 10)]


def counts(n: int) -> dict[int, int]:
    return dict(pairs(n))


def texts(n: int) -> dict[str, int]:
    return {f"k{i}": i for i in range(n // 10)}


# ---------------------------------------------------------------- shapes

#: shapes shared by the six pathlib names in both modules
_PATH_SHAPES: list[tuple[str, Callable[[str, str], Shape]]] = [
    ("one long path", lambda m, c: lambda n: whole(call(m, c, "a/" * (n // 2)))),
    ("many parts", lambda m, c: lambda n: whole(call(m, c, *(["ab"] * (n // 5))))),
    ("backslashes", lambda m, c: lambda n: whole(call(m, c, "\\\\a\\" * (n // 4)))),
    ("huge int", lambda m, c: lambda n: whole(call(m, c, big_int(n)))),
]

_IP_SHAPES: list[tuple[str, Callable[[str, str], Shape]]] = [
    ("long text", lambda m, c: lambda n: whole(call(m, c, "1" * n))),
    ("huge int", lambda m, c: lambda n: whole(call(m, c, big_int(n)))),
    ("long bytes", lambda m, c: lambda n: whole(call(m, c, b"\x01" * n))),
    ("shared tuple", lambda m, c: lambda n: whole(call(m, c, shared_tuple(n)))),
]

_VALUE_SHAPES: list[tuple[str, Callable[[str, str], Shape]]] = [
    (
        "many references",
        lambda m, c: lambda n: b"\x80\x03(" + _global(m, c) + b"2" * (n // 2) + b"l.",
    ),
]


def _shapes_for(module: str, name: str) -> dict[str, Shape]:
    """The worst-case shapes for one registered global."""
    g = (module, name)

    def c(*args: Any) -> Shape:
        return lambda n: whole(call(module, name, *[a(n) for a in args]))

    def k(value: Any) -> Callable[[int], Any]:
        return lambda n: value

    numeric_text = lambda n: "7" * n  # noqa: E731
    shared = shared_tuple
    if module.startswith("pathlib"):
        return {label: make(module, name) for label, make in _PATH_SHAPES}
    if module == "ipaddress":
        return {label: make(module, name) for label, make in _IP_SHAPES}
    if g in {("builtins", "Ellipsis"), ("builtins", "NotImplemented")}:
        return {label: make(module, name) for label, make in _VALUE_SHAPES}
    table: dict[tuple[str, str], dict[str, Shape]] = {
        ("builtins", "bool"): {"huge int": c(big_int), "shared tuple": c(shared)},
        ("builtins", "bytes"): _bytes_shapes(c, k),
        ("builtins", "bytearray"): _bytes_shapes(c, k),
        ("builtins", "complex"): {
            "long literal": c(numeric_text),
            "huge int": c(big_int),
            "two huge ints": c(big_int, big_int),
        },
        ("builtins", "float"): {
            "long literal": c(numeric_text),
            "long exponent": c(lambda n: "1e" + "9" * n),
            "huge int": c(big_int),
        },
        ("builtins", "int"): {
            "decimal literal": c(numeric_text),
            "base-36 literal": c(lambda n: "z" * n, k(36)),
            "base-16 literal": c(lambda n: "f" * n, k(16)),
            "Decimal exponent": c(lambda n: call("decimal", "Decimal", f"1e{n * 8}")),
            "Decimal digits": c(lambda n: call("decimal", "Decimal", "7" * n)),
            "huge int": c(big_int),
        },
        ("builtins", "str"): {
            "huge int": c(big_int),
            "shared tuple": c(shared),
            "deep tuple": c(deep_tuple),
            "punycode": c(
                lambda n: distinct_text(n)[:400].encode("punycode") * 1, k("punycode")
            ),
            "utf-8": c(lambda n: "é".encode() * (n // 2), k("utf-8")),
            "unicode_escape": c(
                lambda n: b"\\N{" * (n // 3), k("unicode_escape"), k("replace")
            ),
        },
        ("builtins", "dict"): {"pairs": c(pairs), "shared tuple": c(shared)},
        ("builtins", "list"): _container_shapes(c),
        ("builtins", "tuple"): _container_shapes(c),
        ("builtins", "set"): _container_shapes(c),
        ("builtins", "frozenset"): _container_shapes(c),
        ("builtins", "object"): {
            "no arguments": lambda n: (
                b"\x80\x03(" + (_global(module, name) + b")R") * (n // 20) + b"l."
            )
        },
        ("builtins", "range"): {"huge ints": c(big_int, big_int, k(7))},
        ("builtins", "slice"): {"huge ints": c(big_int, big_int, big_int)},
        ("builtins", "type"): {"shared tuple": c(shared), "huge int": c(big_int)},
        ("_codecs", "encode"): {
            "punycode": c(distinct_text, k("punycode")),
            "latin-1": c(lambda n: "é" * n, k("latin1")),
            "zlib": c(lambda n: "a" * n, k("zlib")),
        },
        ("argparse", "Namespace"): {
            "BUILD attributes": lambda n: whole(new_build(module, name, texts(n))),
            "huge int": c(big_int),
        },
        ("array", "array"): {
            "floats": c(k("d"), lambda n: [0.5] * (n // 9)),
            "huge ints": c(k("q"), lambda n: [big_int(n // 4)] * 4),
            "shared typecode": c(shared),
        },
        ("array", "_array_reconstructor"): {
            "big-endian doubles": c(
                lambda n: Raw(b"carray\narray\n"),
                k("d"),
                k(17),
                lambda n: b"\x01" * (n // 8 * 8),
            ),
            "utf-32 text": c(
                lambda n: Raw(b"carray\narray\n"),
                k("u"),
                k(21),
                lambda n: "é".encode("utf-32-be") * (n // 4),
            ),
            "huge format code": c(
                lambda n: Raw(b"carray\narray\n"), k("b"), big_int, k(b"")
            ),
        },
        ("collections", "Counter"): {"counts": c(counts), "shared": c(shared)},
        ("collections", "OrderedDict"): {"pairs": c(pairs), "shared": c(shared)},
        ("collections", "defaultdict"): {
            "shared factory": c(shared),
            "items": c(lambda n: Raw(b"cbuiltins\nint\n"), counts),
        },
        ("collections", "deque"): {
            "items": c(small_ints),
            "huge maxlen": c(small_ints, big_int),
        },
        ("copyreg", "__newobj__"): {
            "int literal": c(lambda n: Raw(b"cbuiltins\nint\n"), numeric_text),
            "str of shared": c(lambda n: Raw(b"cbuiltins\nstr\n"), shared),
        },
        ("copyreg", "__newobj_ex__"): {
            "base-36 literal": c(
                lambda n: Raw(b"cbuiltins\nint\n"),
                lambda n: ("z" * n,),
                k({"base": 36}),
            ),
        },
        ("copyreg", "_reconstructor"): {
            "int literal": c(
                lambda n: Raw(b"cbuiltins\nint\n"),
                lambda n: Raw(b"cbuiltins\nint\n"),
                numeric_text,
            ),
            "str of shared": c(
                lambda n: Raw(b"cbuiltins\nstr\n"),
                lambda n: Raw(b"cbuiltins\nstr\n"),
                shared,
            ),
        },
        ("datetime", "date"): {"huge ints": c(big_int, k(1), k(1))},
        ("datetime", "datetime"): {"huge ints": c(big_int, k(1), k(1), big_int)},
        ("datetime", "time"): {"huge ints": c(big_int, big_int)},
        ("datetime", "timedelta"): {"huge ints": c(big_int, big_int, big_int)},
        ("datetime", "timezone"): {
            "long name": c(
                lambda n: call("datetime", "timedelta", 0, 60), lambda n: "x" * n
            ),
        },
        ("decimal", "Decimal"): {
            "long literal": c(numeric_text),
            "long exponent": c(lambda n: "1e" + "9" * n),
            "huge int": c(big_int),
            "invalid literal": c(lambda n: "x" * n),
        },
        ("fractions", "Fraction"): {
            "long literal": c(numeric_text),
            "exponent": c(lambda n: f"1e{n * 8}"),
            "negative exponent": c(lambda n: f"1.5e-{n * 8}"),
            "huge ratio": c(lambda n: big_int(n // 2), lambda n: big_int(n // 2 + 1)),
            "long denominator": c(lambda n: "1/" + "7" * n),
        },
        ("types", "SimpleNamespace"): {"attributes": c(texts)},
        ("uuid", "UUID"): {
            "long text": c(numeric_text),
            "BUILD huge int": lambda n: whole(
                new_build(module, name, {"int": big_int(n)})
            ),
            "BUILD shared is_safe": lambda n: whole(
                new_build(module, name, {"int": 0, "is_safe": shared(n)})
            ),
        },
    }
    return table.get(g, {})


def _bytes_shapes(
    c: Callable[..., Shape], k: Callable[[Any], Callable[[int], Any]]
) -> dict[str, Shape]:
    return {
        "punycode": c(distinct_text, k("punycode")),
        "utf-16": c(lambda n: "é" * (n // 2), k("utf-16")),
        "idna": c(distinct_text, k("idna")),
        "huge count": c(big_int),
        "items": c(small_ints),
    }


def _container_shapes(c: Callable[..., Shape]) -> dict[str, Shape]:
    return {
        "items": c(small_ints),
        "shared tuple": c(shared_tuple),
        "deep tuple": c(deep_tuple),
        "huge range": c(lambda n: call("builtins", "range", big_int(n))),
    }


REGISTERED = sorted(emulpickle.default_registry().names())


def test_every_emulator_has_shapes() -> None:
    missing = [g for g in REGISTERED if not _shapes_for(*g)]
    assert missing == [], f"add worst-case shapes for {missing}"


# ---------------------------------------------------------------- measuring

CHILD = r"""
import gc, json, sys, time
import emulpickle

def work(data):
    best = None
    outcome = None
    for _ in range(3):
        gc.collect()
        gc.disable()
        start = time.process_time()
        try:
            emulpickle.loads(data)
            outcome = "loaded"
        except emulpickle.UnpicklingError as exc:
            outcome = type(exc).__name__
        except BaseException as exc:
            outcome = "unexpected " + type(exc).__name__ + ": " + str(exc)[:200]
        spent = time.process_time() - start
        gc.enable()
        best = spent if best is None else min(best, spent)
    return best, outcome

for line in sys.stdin:
    label, small, big = json.loads(line)
    print(json.dumps({"label": label, "started": True}), flush=True)
    results = [work(open(path, "rb").read()) for path in (small, big)]
    print(json.dumps({"label": label, "results": results}), flush=True)
"""


def _measure(
    global_: tuple[str, str], tmp_path: Path
) -> dict[str, list[tuple[float, str]]]:
    jobs: list[str] = []
    for label, shape in _shapes_for(*global_).items():
        paths = []
        for scale in (SMALL, GROWTH * SMALL):
            path = tmp_path / f"{len(jobs)}-{scale}.pickle"
            path.write_bytes(shape(scale))
            paths.append(str(path))
        jobs.append(json.dumps([label, *paths]))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    try:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD],
            input="\n".join(jobs) + "\n",
            capture_output=True,
            text=True,
            timeout=HANG_GUARD_SECONDS,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or ""
        out = out if isinstance(out, str) else out.decode()
        running = [json.loads(line)["label"] for line in out.splitlines()]
        pytest.fail(
            f"hang guard: still at shape {running[-1:]} after {HANG_GUARD_SECONDS} s"
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results: dict[str, list[tuple[float, str]]] = {}
    for line in proc.stdout.splitlines():
        record = json.loads(line)
        if "results" in record:
            results[record["label"]] = [tuple(r) for r in record["results"]]
    return results


@pytest.mark.parametrize("global_", REGISTERED, ids=[".".join(g) for g in REGISTERED])
def test_work_is_linear_in_the_input(global_: tuple[str, str], tmp_path: Path) -> None:
    results = _measure(global_, tmp_path)
    assert set(results) == set(_shapes_for(*global_))
    for label, ((small, small_outcome), (big, big_outcome)) in results.items():
        for outcome in (small_outcome, big_outcome):
            assert not outcome.startswith("unexpected"), (label, outcome)
            # a shape naming a global nobody answers measures nothing
            assert outcome != "ForbiddenGlobalError", (label, outcome)
        assert big <= ALLOWED_RATIO * max(small, FLOOR_SECONDS), (
            f"{label}: {small:.4f} s at {SMALL} bytes, {big:.4f} s at "
            f"{GROWTH * SMALL} bytes ({small_outcome} / {big_outcome})"
        )
