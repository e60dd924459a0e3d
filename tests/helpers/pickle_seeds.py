"""Real pickles of every protocol, plus hand-written INST and OBJ, to seed
the scanner's framing and buffer tests."""

from __future__ import annotations

import collections
import datetime
import decimal
import pickle

SEEDS: list[bytes] = [
    pickle.dumps(value, protocol=protocol)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1)
    for value in (
        {"a": [1, 2.5, "x" * 300, b"y", None, True], "b": (1, 2), "c": 2**70},
        collections.OrderedDict(k=[1, 2], j={3}),
        [frozenset({2}), datetime.date(2020, 1, 2), decimal.Decimal("1.5")],
        ["shared"] * 3,
    )
] + [
    b"(S'x'\nI5\nimymod\nThing\n.",  # INST
    b"(cmymod\nThing\no(lp0\nF1.5\naL12L\nag0\na.",  # OBJ, text memo
]
