"""CPU bombs inside emulators: small inputs that made an emulator do super-linear work.

Each bomb is loaded in a child interpreter with a hang guard (the old code
took from seconds to hours on each) and an address-space cap. The child
reports the outcome and which modules the load imported: a codec that never
ran was never imported (``encodings.punycode``, ``encodings.zlib_codec`` are
the canaries). Bombs marked ``lifted`` run with CPython's own int/str cap
switched off (``sys.set_int_max_str_digits(0)``), as an application may do:
emulpickle's bound must not depend on it.
"""

from __future__ import annotations

import array
import collections
import decimal
import fractions
import json
import os
import pickle
import random
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from helpers.reduce_call import Call

REPO_ROOT = Path(__file__).resolve().parents[2]
GUARD_SECONDS = 60
MEMORY_CAP = 2 << 30

CHILD = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
if {lifted}:
    sys.set_int_max_str_digits(0)
import emulpickle

data = sys.stdin.buffer.read()
before = set(sys.modules)
out = {{}}
try:
    emulpickle.loads(data)
    out["outcome"] = "loaded"
except emulpickle.UnpicklingError as exc:
    out["outcome"] = type(exc).__name__
    out["limit"] = getattr(exc, "limit", None)
    out["message"] = str(exc)[:2000]
except BaseException as exc:
    out["outcome"] = "unexpected " + type(exc).__name__
out["imported"] = sorted(set(sys.modules) - before)
print(json.dumps(out))
"""

# Modules whose import during a load would mean a refused codec ran.
CANARY_MODULES = {
    "encodings.punycode",
    "encodings.idna",
    "encodings.zlib_codec",
    "encodings.bz2_codec",
    "encodings.hex_codec",
    "zlib",
    "bz2",
}


class Bomb(NamedTuple):
    data: bytes
    outcome: str  # the UnpicklingError subclass expected
    limit: str | None = None
    lifted: bool = False  # run with sys.set_int_max_str_digits(0)


def _dumps(value: Any) -> bytes:
    return pickle.dumps(value, 4)


def _shared_tuple(depth: int = 40) -> tuple[Any, ...]:
    node: Any = 0
    for _ in range(depth):
        node = (node, node)  # 2**depth paths, depth + 1 objects
    return node  # type: ignore[no-any-return]


def _uuid_with_state(state: dict[str, Any]) -> bytes:
    body = pickle.dumps(state, 2)[2:-1]  # the dict's opcodes, no PROTO/STOP
    return b"\x80\x02cuuid\nUUID\n)\x81" + body + b"b."


_RNG = random.Random(20240601)
BIG = int.from_bytes(_RNG.randbytes(250_000), "little") | 1  # ~600,000 digits
BIG2 = int.from_bytes(_RNG.randbytes(250_000), "little") | 1
DISTINCT = "".join(chr(0x100 + i) for i in range(40_000))  # punycode: O(n**2)
DIGITS = "max_number_digits"
ARRAY_RECONSTRUCTOR = array._array_reconstructor  # type: ignore[attr-defined]

BOMBS: dict[str, Bomb] = {
    "bytes(text, punycode)": Bomb(
        _dumps(Call(bytes, DISTINCT, "punycode")), "EmulationError"
    ),
    "bytearray(text, punycode)": Bomb(
        _dumps(Call(bytearray, DISTINCT, "Punycode")), "EmulationError"
    ),
    "str(data, punycode)": Bomb(
        _dumps(Call(str, DISTINCT[:500].encode("punycode"), "punycode")),
        "EmulationError",
    ),
    "_codecs.encode(text, punycode)": Bomb(
        _dumps(Call(__import__("_codecs").encode, DISTINCT, "punycode")),
        "EmulationError",
    ),
    "bytes(text, idna)": Bomb(_dumps(Call(bytes, DISTINCT, "idna")), "EmulationError"),
    "str(data, zlib_codec)": Bomb(
        _dumps(Call(str, b"x\x9c" + b"\x00" * 64, "zlib_codec")), "EmulationError"
    ),
    "_codecs.encode(text, zlib)": Bomb(
        _dumps(Call(__import__("_codecs").encode, "a" * 64, "zlib")),
        "EmulationError",
    ),
    "int(Decimal('1e2000000'))": Bomb(
        _dumps(Call(int, Call(decimal.Decimal, "1e2000000"))),
        "LimitExceededError",
        DIGITS,
    ),
    "Decimal(250 KB int)": Bomb(
        _dumps(Call(decimal.Decimal, BIG)), "LimitExceededError", DIGITS
    ),
    "Fraction('1e20000000')": Bomb(
        _dumps(Call(fractions.Fraction, "1e20000000")), "LimitExceededError", DIGITS
    ),
    "Fraction('1.5e-20000000')": Bomb(
        _dumps(Call(fractions.Fraction, "1.5e-20000000")),
        "LimitExceededError",
        DIGITS,
    ),
    "Fraction(250 KB int, 250 KB int)": Bomb(
        _dumps(Call(fractions.Fraction, BIG, BIG2)), "LimitExceededError", DIGITS
    ),
    "Fraction('7' * 1M) lifted": Bomb(
        _dumps(Call(fractions.Fraction, "7" * 1_000_000)),
        "LimitExceededError",
        DIGITS,
        lifted=True,
    ),
    "int('7' * 1M) lifted": Bomb(
        _dumps(Call(int, "7" * 1_000_000)), "LimitExceededError", DIGITS, lifted=True
    ),
    "int('z' * 1M, 36) lifted": Bomb(
        _dumps(Call(int, "z" * 1_000_000, 36)),
        "LimitExceededError",
        DIGITS,
        lifted=True,
    ),
    "str(250 KB int) lifted": Bomb(
        _dumps(Call(str, BIG)), "LimitExceededError", DIGITS, lifted=True
    ),
    "bytes(250 KB int) message lifted": Bomb(
        _dumps(Call(bytes, BIG)), "LimitExceededError", "max_emulator_alloc", True
    ),
    "_array_reconstructor(250 KB code) message lifted": Bomb(
        _dumps(Call(ARRAY_RECONSTRUCTOR, array.array, "b", BIG, b"")),
        "EmulationError",
        lifted=True,
    ),
    "str(tuple shared 2**40 times)": Bomb(
        _dumps(Call(str, _shared_tuple())), "EmulationError"
    ),
    "defaultdict(tuple shared 2**40 times) message": Bomb(
        _dumps(Call(collections.defaultdict, _shared_tuple())), "EmulationError"
    ),
    "array(tuple shared 2**40 times) message": Bomb(
        _dumps(Call(array.array, _shared_tuple())), "EmulationError"
    ),
    # Equal hashes make dict/set insertion compare the keys: Decimal == int
    # converts the whole int (10 s for 250 KB), even in a dict of two.
    "{250 KB int, Decimal equal modulo 2**61-1}": Bomb(
        _dumps({BIG, Call(decimal.Decimal, BIG % (2**61 - 1))}),
        "LimitExceededError",
        DIGITS,
    ),
    "{Decimal: 1, 250 KB int: 2}": Bomb(
        _dumps({Call(decimal.Decimal, BIG % (2**61 - 1)): 1, BIG: 2}),
        "LimitExceededError",
        DIGITS,
    ),
    "UUID is_safe tuple shared 2**40 times message": Bomb(
        _uuid_with_state({"int": 0, "is_safe": _shared_tuple()}), "EmulationError"
    ),
}


def _run(bomb: Bomb, tmp_path: Path) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    script = CHILD.format(cap=MEMORY_CAP, lifted=bomb.lifted)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", script],
            input=bomb.data,
            capture_output=True,
            timeout=GUARD_SECONDS,  # a hang guard: fixed loads take milliseconds
            cwd=tmp_path,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the load did not finish within {GUARD_SECONDS} s")
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    result: dict[str, Any] = json.loads(proc.stdout.decode().splitlines()[-1])
    return result


@pytest.mark.parametrize("name", list(BOMBS))
def test_bomb_is_refused_quickly(name: str, tmp_path: Path) -> None:
    bomb = BOMBS[name]
    result = _run(bomb, tmp_path)
    assert result["outcome"] == bomb.outcome, result
    if bomb.limit is not None:
        assert result["limit"] == bomb.limit, result
    # Messages are bounded renderings, never the value itself.
    assert len(result["message"]) < 1000, result
    assert not CANARY_MODULES & set(result["imported"]), result["imported"]
