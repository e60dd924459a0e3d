"""Mutation fuzzing of loads, scan (also of joblib files) and the disassembler.

Seeded with real pickles, any input must give a value or an
``emulpickle.UnpicklingError`` subclass, never another exception. The default
run takes a few seconds per target; set ``EMULPICKLE_FUZZ_SECONDS`` (total
budget, split over the targets) for a long run.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import io
import os
import pickle
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emulpickle
from emulpickle.disasm import disassemble
from emulpickle.scan import ScanReport, scan

_BUDGET = float(os.environ.get("EMULPICKLE_FUZZ_SECONDS", "15"))
_PER_TARGET = _BUDGET / 4  # loads, scan, disasm, scan of joblib files

SEEDS: list[bytes] = [
    pickle.dumps(value, protocol=protocol)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1)
    for value in (
        {"a": [1, 2.5, "x", b"y", None, True], "b": (1, 2)},
        collections.OrderedDict(k=[1, 2]),
        {1, frozenset({2})},
        datetime.date(2020, 1, 2),
        ["shared"] * 3,
        2**70,
    )
]

mutation = st.tuples(
    st.sampled_from(["flip", "insert", "delete", "truncate", "splice"]),
    st.integers(min_value=0, max_value=1 << 16),
    st.binary(min_size=1, max_size=8),
)


def _mutate(seed: bytes, ops: list[tuple[str, int, bytes]]) -> bytes:
    data = bytearray(seed)
    for kind, where, blob in ops:
        at = where % (len(data) + 1)
        if kind == "flip" and data:
            data[at % len(data)] ^= blob[0] or 1
        elif kind == "insert":
            data[at:at] = blob
        elif kind == "delete":
            del data[at : at + len(blob)]
        elif kind == "truncate":
            del data[at:]
        else:
            other = SEEDS[where % len(SEEDS)]
            data[at:] = other[where % max(1, len(other)) :]
    return bytes(data)


def _loads_both(data: bytes) -> None:
    for unknown in ("error", "generic"):
        with contextlib.suppress(emulpickle.UnpicklingError):
            emulpickle.loads(data, unknown=unknown)  # type: ignore[arg-type]


def _scan(data: bytes) -> None:
    assert isinstance(scan(data), ScanReport)


def _dis(data: bytes) -> None:
    try:
        for _ in disassemble(data):
            pass
    except emulpickle.UnpicklingError:
        pass


def _joblib_seeds() -> list[bytes]:
    np = pytest.importorskip("numpy")
    joblib = pytest.importorskip("joblib")
    value = {
        "f": np.arange(4.0),
        "s": np.zeros(2, dtype=[("x", "<i4"), ("y", "U2")]),
        "o": np.array([1, "x"], dtype=object),
    }
    seeds = []
    for protocol, compress in ((2, 0), (4, 0), (5, 0), (4, 3)):
        buf = io.BytesIO()
        joblib.dump(value, buf, protocol=protocol, compress=compress)
        seeds.append(buf.getvalue())
    return seeds


@pytest.mark.parametrize(
    ("target", "seeds"),
    [
        (_loads_both, lambda: SEEDS),
        (_scan, lambda: SEEDS),
        (_dis, lambda: SEEDS),
        (_scan, _joblib_seeds),
    ],
    ids=["loads", "scan", "disasm", "scan-joblib"],
)
def test_mutations_never_raise_other_exceptions(
    target: Callable[[bytes], None], seeds: Callable[[], list[bytes]]
) -> None:
    pool = seeds()
    deadline = time.monotonic() + _PER_TARGET

    @settings(
        max_examples=max(50, int(300 * _PER_TARGET)),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.sampled_from(pool), st.lists(mutation, min_size=1, max_size=4))
    def run(seed: bytes, ops: list[tuple[str, int, bytes]]) -> None:
        if time.monotonic() > deadline:
            return  # budget spent: let hypothesis finish quickly
        target(_mutate(seed, ops))

    run()
