"""Keys that all hash alike are refused instead of stalling the loader.

An int hashes to its value modulo ``2**61 - 1``, so ``k * (2**61 - 1)`` hashes
to 0 for every k; complex numbers, floats and tuples of small ints can be
chosen to collide too. Inserting n such keys into one dict or set costs
``n**2 / 2`` comparisons: a pickle of a megabyte keeps ``pickle.loads`` busy
for a minute. emulpickle counts the keys a container receives by hash and
raises ``LimitExceededError(limit="max_hash_collisions")`` instead, whichever
opcode or emulator inserts them. The hostile tests assert on the exception
only (they would merely be slow without the check, so nothing here times
anything); legitimate data with many non-str keys must still load exactly as
``pickle.loads`` loads it.
"""

from __future__ import annotations

import collections
import pickle
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest
from helpers import pickle_bytes as pb
from helpers.strategies import assert_same, floats_no_nan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emulpickle
from emulpickle.disasm import disassemble
from emulpickle.scanner import joblib as _scan_joblib

MODULUS = sys.hash_info.modulus
assert MODULUS == 2**61 - 1, "these tests assume 64-bit CPython hashing"
LIMIT = emulpickle.Limits().max_hash_collisions
N = 4 * LIMIT  # keys per hostile pickle: well past the limit

# ------------------------------------------------------------------ keys


def colliding_ints(n: int) -> list[int]:
    return [k * MODULUS for k in range(1, n + 1)]


def colliding_complexes(n: int) -> list[complex]:
    # hash(complex(re, im)) == hash(re) + 1000003 * hash(im) for these.
    return [complex(2**52 - 1000003 * j, j) for j in range(n)]


def colliding_floats() -> list[float]:
    # The powers of two 2**(61 * j) all hash to 1 (as do the ints 1 + k * modulus):
    # only 34 floats, so they are tested against a lower limit.
    return [2.0 ** (61 * j) for j in range(-17, 17)]


_M64 = 1 << 64
_P1, _P2, _P5 = 11400714785074694791, 14029467366897019727, 2870177450012600261


def _tuple_step(acc: int, lane: int) -> int:
    acc = (acc + lane * _P2) % _M64
    return ((acc << 31 | acc >> 33) % _M64) * _P1 % _M64


def colliding_tuples(n: int, target: int = 12345) -> list[tuple[int, int]]:
    """Pairs of ints below 2**61 (never counted alone) with one tuple hash.

    CPython's tuple hash (xxHash-like) can be inverted one item at a time:
    for each first item, solve for the hash the second one needs.
    """
    acc = (target - (2 ^ (_P5 ^ 3527539))) % _M64
    acc = acc * pow(_P1, -1, _M64) % _M64
    before = (acc >> 31 | acc << 33) % _M64
    pairs: list[tuple[int, int]] = []
    first = 0
    while len(pairs) < n:
        lane = (before - _tuple_step(_P5, hash(first) % _M64)) * pow(_P2, -1, _M64)
        second = (lane % _M64) - (_M64 if lane % _M64 >= 1 << 63 else 0)
        if -MODULUS < second < MODULUS and second != -1:
            pairs.append((first, second))
        first += 1
    return pairs


KEYS: dict[str, list[Any]] = {
    "big ints": colliding_ints(N),
    "complex": colliding_complexes(N),
    "floats": colliding_floats(),
    "tuples": colliding_tuples(N),
}
#: The limits each kind is loaded with: 34 floats exceed 8 (twice over).
LIMITS = {"floats": emulpickle.Limits(max_hash_collisions=8)}


@pytest.mark.parametrize("name", KEYS)
def test_the_keys_really_collide(name: str) -> None:
    keys = KEYS[name]
    assert len({hash(key) for key in keys}) == 1
    assert len(set(map(repr, keys))) == len(keys)  # all different


# ------------------------------------------------------------------ pickles


def enc(key: Any) -> bytes:
    """Protocol 2+ opcodes pushing ``key``."""
    if type(key) is int:
        return pb.long1(key)
    if type(key) is float:
        return pb.binfloat(key)
    if type(key) is complex:
        return (
            b"cbuiltins\ncomplex\n"
            + pb.binfloat(key.real)
            + pb.binfloat(key.imag)
            + pb.TUPLE2
            + pb.REDUCE
        )
    if type(key) is tuple:
        return pb.MARK + b"".join(enc(item) for item in key) + pb.TUPLE
    raise TypeError(key)


def keys_of(keys: list[Any]) -> bytes:
    return b"".join(enc(key) for key in keys)


def pairs_of(keys: list[Any]) -> bytes:
    return b"".join(enc(key) + pb.NONE for key in keys)


def tuples_of(keys: list[Any]) -> bytes:
    """A list of (key, None) tuples."""
    return pb.MARK + b"".join(enc(key) + pb.NONE + pb.TUPLE2 for key in keys) + pb.LIST


def setitems_batches(keys: list[Any], size: int = 50) -> bytes:
    return b"".join(
        pb.MARK + pairs_of(keys[i : i + size]) + pb.SETITEMS
        for i in range(0, len(keys), size)
    )


def build_states(keys: list[Any], size: int = 10) -> bytes:
    """BUILD the object on the stack with small state dicts, one after another."""
    return b"".join(
        pb.EMPTY_DICT + pb.MARK + pairs_of(keys[i : i + size]) + pb.SETITEMS + pb.BUILD
        for i in range(0, len(keys), size)
    )


P = b"\x80\x04"
PATHS: dict[str, Callable[[list[Any]], bytes]] = {
    "SETITEM": lambda ks: P + pb.EMPTY_DICT + b"".join(enc(k) + b"Ns" for k in ks),
    "SETITEMS batches": lambda ks: P + pb.EMPTY_DICT + setitems_batches(ks),
    "DICT": lambda ks: P + pb.MARK + pairs_of(ks) + pb.DICT,
    "ADDITEMS": lambda ks: P + pb.EMPTY_SET + pb.MARK + keys_of(ks) + pb.ADDITEMS,
    "ADDITEMS batches": lambda ks: (
        P
        + pb.EMPTY_SET
        + b"".join(
            pb.MARK + keys_of(ks[i : i + 7]) + pb.ADDITEMS for i in range(0, len(ks), 7)
        )
    ),
    "FROZENSET": lambda ks: P + pb.MARK + keys_of(ks) + pb.FROZENSET,
    "OrderedDict(pairs)": lambda ks: (
        P + b"ccollections\nOrderedDict\n" + tuples_of(ks) + pb.TUPLE1 + pb.REDUCE
    ),
    "OrderedDict SETITEMS": lambda ks: (
        P + b"ccollections\nOrderedDict\n)R" + setitems_batches(ks)
    ),
    "defaultdict(None, pairs)": lambda ks: (
        P + b"ccollections\ndefaultdict\nN" + tuples_of(ks) + pb.TUPLE2 + pb.REDUCE
    ),
    "dict(pairs)": lambda ks: (
        P + b"cbuiltins\ndict\n" + tuples_of(ks) + pb.TUPLE1 + pb.REDUCE
    ),
    "set(list)": lambda ks: (
        P
        + b"cbuiltins\nset\n"
        + pb.MARK
        + keys_of(ks)
        + pb.LIST
        + pb.TUPLE1
        + pb.REDUCE
    ),
    "frozenset(deque)": lambda ks: (
        P
        + b"cbuiltins\nfrozenset\nccollections\ndeque\n"
        + pb.MARK
        + keys_of(ks)
        + pb.LIST
        + pb.TUPLE1
        + pb.REDUCE
        + pb.TUPLE1
        + pb.REDUCE
    ),
    "copyreg._reconstructor(dict)": lambda ks: (
        P
        + b"ccopyreg\n_reconstructor\ncmod\nCls\ncbuiltins\ndict\n"
        + tuples_of(ks)
        + pb.TUPLE3
        + pb.REDUCE
    ),
    "generic SETITEMS": lambda ks: P + b"cmod\nCls\n)R" + setitems_batches(ks),
    "generic ADDITEMS": lambda ks: (
        P + b"cmod\nCls\n)R" + pb.MARK + keys_of(ks) + pb.ADDITEMS
    ),
    "BUILD into __dict__": lambda ks: (
        P + b"ctypes\nSimpleNamespace\n)R" + build_states(ks)
    ),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", KEYS)
def test_colliding_keys_are_refused(name: str, path: str) -> None:
    data = PATHS[path](KEYS[name]) + pb.STOP
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.loads(data, unknown="generic", limits=LIMITS.get(name))
    assert info.value.limit == "max_hash_collisions"


def size(loaded: Any) -> int:
    if isinstance(loaded, emulpickle.GenericObject):
        return len(loaded.dict_items) + len(loaded.set_items)
    if isinstance(loaded, types.SimpleNamespace):
        return len(vars(loaded))
    return len(loaded)


@pytest.mark.parametrize("path", PATHS)
def test_colliding_keys_up_to_the_limit_load(path: str) -> None:
    data = PATHS[path](colliding_ints(LIMIT)) + pb.STOP
    assert size(emulpickle.loads(data, unknown="generic")) == LIMIT


def test_a_lower_limit_refuses_sooner() -> None:
    data = PATHS["SETITEMS batches"](colliding_ints(20)) + pb.STOP
    assert len(emulpickle.loads(data)) == 20
    strict = emulpickle.Limits(max_hash_collisions=8)
    with pytest.raises(emulpickle.LimitExceededError, match="same hash"):
        emulpickle.loads(data, limits=strict)


def test_the_error_names_the_opcode() -> None:
    data = PATHS["SETITEMS batches"](KEYS["big ints"]) + pb.STOP
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.loads(data)
    assert info.value.opcode == "SETITEMS"
    assert info.value.offset is not None


def test_set_of_a_range_of_colliding_ints() -> None:
    # A tiny pickle: set(range(m, m * 10**6, m)) names a million colliding ints.
    data = (
        b"\x80\x02cbuiltins\nset\ncbuiltins\nrange\n"
        + pb.long1(MODULUS)
        + pb.long1(MODULUS * 10**6)
        + pb.long1(MODULUS)
        + b"\x87R\x85R."
    )
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.loads(data)
    assert info.value.limit == "max_hash_collisions"


# ------------------------------------------------------------------ memo


@pytest.mark.parametrize("index", [sys.maxsize + 1, MODULUS * 5, 10**40])
def test_text_put_index_past_maxsize_is_refused(index: int) -> None:
    # CPython's C unpickler refuses these too (OverflowError); huge indices
    # would fill the sparse memo with colliding ints.
    data = b"N" + b"p%d\n" % index + b"."
    with pytest.raises(emulpickle.UnpicklingError, match=r"larger than sys\.maxsize"):
        emulpickle.loads(data)
    with pytest.raises(emulpickle.UnpicklingError, match=r"larger than sys\.maxsize"):
        list(disassemble(data))
    report = emulpickle.scan(data)
    assert any("larger than sys.maxsize" in error for error in report.errors)


def test_text_put_index_maxsize_still_works() -> None:
    data = b"Np%d\n0g%d\n." % (sys.maxsize, sys.maxsize)
    assert emulpickle.loads(data) is None  # pickle.loads: MemoryError (dense memo)


def test_memo_flood_of_colliding_put_indices_is_refused() -> None:
    data = b"N" + b"".join(b"p%d\n" % k for k in colliding_ints(2000)) + b"."
    with pytest.raises(emulpickle.UnpicklingError):
        emulpickle.loads(data)
    assert emulpickle.scan(data).errors


def test_joblib_scanner_does_not_keep_colliding_int_keys() -> None:
    walk = _scan_joblib._Walk(b"", 0, {})
    target = _scan_joblib._Dict()
    walk._set_items(target, [MODULUS, None, "subclass", 1, 5, 6])
    assert target.tainted
    assert list(target.items) == ["subclass", 5]


# ------------------------------------------------------------------ scan


def test_scan_is_not_affected() -> None:
    # The scanner follows names, not values: a flood pickle scans clean.
    data = PATHS["SETITEMS batches"](colliding_ints(2000)) + pb.STOP
    report = emulpickle.scan(data)
    assert report.clean and not report.errors


# ------------------------------------------------------------------ legit data

HYPO = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
many_keys = st.one_of(
    st.integers(),
    st.integers(min_value=2**61, max_value=2**200),
    floats_no_nan,
    st.complex_numbers(allow_nan=False),
    st.tuples(st.integers(), st.one_of(floats_no_nan, st.text(max_size=3))),
    st.frozensets(st.integers(), max_size=3),
    st.tuples(st.tuples(st.integers()), st.frozensets(st.booleans())),
)


@HYPO
@given(
    keys=st.sets(many_keys, min_size=LIMIT + 1, max_size=3 * LIMIT),
    protocol=st.integers(min_value=0, max_value=5),
)
def test_big_containers_with_many_kinds_of_keys_load_like_pickle(
    keys: set[Any], protocol: int
) -> None:
    value = (
        dict.fromkeys(keys, 1),
        keys,
        frozenset(keys),
        collections.OrderedDict.fromkeys(keys),
    )
    data = pickle.dumps(value, protocol)
    assert_same(emulpickle.loads(data), pickle.loads(data), sharing=False)


@pytest.mark.parametrize("protocol", range(6))
def test_powers_of_two_load_like_pickle(protocol: int) -> None:
    # 2**k hashes to 2**(k % 61): 40 keys per hash, under the limit.
    value = {2**k: k for k in range(61 * 40)}
    data = pickle.dumps(value, protocol)
    assert emulpickle.loads(data) == pickle.loads(data) == value


@pytest.mark.parametrize("path", ["set(list)", "FROZENSET", "DICT", "dict(pairs)"])
def test_repeated_keys_are_not_collisions(path: str) -> None:
    # The same key many times (equal, not identical objects) is one key.
    data = PATHS[path]([(1, 2)] * (10 * LIMIT) + [MODULUS] * (10 * LIMIT)) + pb.STOP
    loaded = emulpickle.loads(data)
    assert loaded == pickle.loads(data)
    assert len(loaded) == 2


def test_repeated_setitem_of_one_key_is_not_a_collision() -> None:
    data = PATHS["SETITEMS batches"](colliding_ints(LIMIT) + [MODULUS] * 500)
    assert len(emulpickle.loads(data + pb.STOP)) == LIMIT


# ------------------------------------------------------------------ public API


def test_check_hash_keys_outside_a_load() -> None:
    emulpickle.check_hash_keys(["a", 1, (1, 2), *colliding_ints(LIMIT)])
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.check_hash_keys(colliding_ints(LIMIT + 1))
    assert info.value.limit == "max_hash_collisions"
    deep: Any = None
    for _ in range(emulpickle.Limits().max_key_depth + 1):
        deep = (deep,)
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.check_hash_keys([deep])
    assert info.value.limit == "max_key_depth"


def test_check_hash_keys_counts_per_container_during_a_load() -> None:
    class Bag:
        """An emulator keeping what it is given across BUILDs in one dict."""

        def __init__(self) -> None:
            self.items: dict[Any, Any] = {}

        def py_setstate(self, state: Any) -> None:
            emulpickle.check_hash_keys(list(state), into=self.items)
            self.items.update(state)

    registry = emulpickle.Registry(parent=emulpickle.default_registry())
    registry.register("app", "new_bag", Bag)
    data = P + b"capp\nnew_bag\n)R" + build_states(colliding_ints(N)) + pb.STOP
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.loads(data, registry=registry)
    assert info.value.limit == "max_hash_collisions"
    small = P + b"capp\nnew_bag\n)R" + build_states(colliding_ints(LIMIT)) + pb.STOP
    assert len(emulpickle.loads(small, registry=registry).items) == LIMIT
