"""Deeply nested hash keys are refused instead of crashing the interpreter.

CPython hashes nested tuples recursively in C with no recursion guard; a
pickle of a few megabytes can nest a tuple a million levels deep and then
use it as a dict key or set item, whether the machine inserts it or an
emulator (``OrderedDict``, ``set()``, ``copyreg._reconstructor``...) hashes
it. Each case runs in a child interpreter, so a crash fails the test instead
of killing the test run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

DEPTH = 1_000_000
NESTED = b"N" + b"\x85" * DEPTH  # None wrapped in a million TUPLE1s

CASES = {
    "SETITEM": b"\x80\x04}" + NESTED + b"Ns.",
    "SETITEMS": b"\x80\x04}(" + NESTED + b"Nu.",
    "DICT": b"\x80\x04(" + NESTED + b"Nd.",
    "ADDITEMS": b"\x80\x04\x8f(" + NESTED + b"\x90.",
    "FROZENSET": b"\x80\x04(" + NESTED + b"\x91.",
    "set() via REDUCE": b"\x80\x04cbuiltins\nset\n" + NESTED + b"\x85\x85R.",
    "generic object key": (b"\x80\x04}cmod\nCls\n" + NESTED + b"\x85RNs."),
    # getattr(generic object, "a") hashes as its owner, which hashes its args
    "generic attribute key": (
        b"\x80\x04}cbuiltins\ngetattr\ncmod\nCls\n" + NESTED + b"\x85R\x8c\x01a\x86RNs."
    ),
    # Emulators that hash what the pickle gives them.
    "OrderedDict": b"\x80\x02ccollections\nOrderedDict\n((" + NESTED + b"K\x01ll\x85R.",
    "defaultdict": b"\x80\x02ccollections\ndefaultdict\n(N((" + NESTED + b"K\x01lltR.",
    "copyreg._reconstructor of a dict": (
        b"\x80\x02ccopyreg\n_reconstructor\n(cmod\nCls\ncbuiltins\ndict\n(("
        + NESTED
        + b"K\x01lltR."
    ),
    "set() of a deque": (
        b"\x80\x02cbuiltins\nset\nccollections\ndeque\n(" + NESTED + b"l\x85R\x85R."
    ),
    "dict() of a deque": (
        b"\x80\x02cbuiltins\ndict\nccollections\ndeque\n(("
        + NESTED
        + b"K\x01ll\x85R\x85R."
    ),
    "dict() of a deque pair": (
        b"\x80\x02cbuiltins\ndict\nccollections\ndeque\n("
        + NESTED
        + b"K\x01l\x85R\x85\x85R."
    ),
}


@pytest.mark.parametrize("data", CASES.values(), ids=CASES.keys())
def test_deep_key_is_refused_not_crashing(data: bytes) -> None:
    script = textwrap.dedent(
        """
        import sys
        import emulpickle

        data = sys.stdin.buffer.read()
        try:
            emulpickle.loads(data, unknown="generic")
        except emulpickle.LimitExceededError as exc:
            print("refused", exc.limit)
        else:
            print("loaded")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.stdout.decode().split() == ["refused", "max_key_depth"]


def test_moderately_nested_keys_load_like_pickle() -> None:
    import pickle

    import emulpickle

    key: object = None
    for _ in range(500):  # CPython's pickler recurses; keep under its limit
        key = (key,)
    data = pickle.dumps({key: 1, frozenset([key]): 2}, 4)
    assert emulpickle.loads(data) == pickle.loads(data)


def test_shared_subtrees_are_measured_once() -> None:
    import emulpickle
    from emulpickle.machine.hashkeys import HashKeyChecker

    key: object = 0
    for _ in range(60):
        key = (key, key)  # 61 distinct objects, 2**60 paths
    checker = HashKeyChecker(emulpickle.Limits(max_key_depth=100, max_key_size=10**30))
    checker.measure(key)
    assert checker.depths[id(key)][1] == 60
    assert len(checker.depths) == 60


def test_exponential_hash_work_is_refused() -> None:
    import emulpickle

    # A 60-level tuple DAG used as a key: CPython's hash would visit 2**60
    # leaves (it does not cache tuple hashes), i.e. never finish.
    levels = 60
    parts = [b"\x80\x04}K\x00"]
    for level in range(levels):
        parts.append(b"r" + level.to_bytes(4, "little"))  # LONG_BINPUT level
        parts.append(b"j" + level.to_bytes(4, "little"))  # LONG_BINGET level
        parts.append(b"\x86")  # TUPLE2 -> (x, x)
    parts.append(b"Ns.")
    data = b"".join(parts)
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.loads(data)
    assert info.value.limit == "max_key_size"


def _reused_subtree_keys(levels: int, keys: int) -> bytes:
    """A dict whose ``keys`` keys ``(i, x)`` all share one subtree ``x`` that
    hashing visits ``2**levels`` times (``x = (x, x)``, ``levels`` times)."""
    parts = [b"\x80\x04}N"]
    parts.append(b"q\x000h\x00h\x00\x86" * levels)
    parts.append(b"q\x010")
    for i in range(keys):
        parts.append(b"J" + i.to_bytes(4, "little", signed=True) + b"h\x01\x86Ns")
    return b"".join(parts) + b"."


def test_hash_work_summed_over_keys_is_bounded() -> None:
    import pickle

    import emulpickle

    # Each key is under max_key_size, but CPython does not cache tuple hashes:
    # inserting 100 of them would visit 100 * 2**22 objects (a 1 KB pickle).
    with pytest.raises(emulpickle.LimitExceededError) as info:
        emulpickle.loads(_reused_subtree_keys(22, 100))
    assert info.value.limit == "max_key_size"
    # Small shared parts cost no more than the input that names them.
    data = _reused_subtree_keys(4, 20_000)
    assert emulpickle.loads(data) == pickle.loads(data)
    # The budget scales with max_key_size.
    roomy = emulpickle.Limits(max_key_size=10**9)
    assert len(emulpickle.loads(_reused_subtree_keys(10, 500), limits=roomy)) == 500
