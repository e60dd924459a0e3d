"""Refuse dict keys and set items that would crash or stall hashing.

Whatever goes into a dict, set or frozenset while a pickle loads is hashed by
CPython, and two kinds of key make that go wrong:

**Deep or exponential keys.** CPython hashes a tuple by hashing its items
recursively in C, with no recursion guard: hashing a tuple nested a million
levels deep (a pickle of a few megabytes) crashes the interpreter. Before an
object built from pickle data is hashed, its nesting is measured iteratively
and refused past ``Limits.max_key_depth``. Frozensets stop the recursion
(their hash is computed from hashes cached at insertion); tuples, generic
objects (which hash their argument tuple), generic attributes (which hash
their owner) and slices (hashable from Python 3.12) are walked. Tuple hashes
are not cached either, so a key built from shared subtrees (``x = (x, x)``
sixty times over) takes 2**60 steps to hash: the number of objects hashing
would visit is bounded by ``Limits.max_key_size``.

**Colliding keys.** An int hashes to its value modulo ``2**61 - 1``, so the
keys ``k * (2**61 - 1)`` all hash to 0; floats, complex numbers, and tuples
or frozensets of anything can be chosen to collide the same way. Inserting
``n`` keys with one hash into one container costs ``n**2 / 2`` comparisons:
a 1 MB pickle of such a dict takes a minute in ``pickle.loads`` too. So the
keys a container receives are counted by hash once it holds more than
``Limits.max_hash_collisions`` keys, and a key that would be the next
*different* key with an already counted hash past that limit is refused. A
container's keys with one hash thus number at most a small multiple of the
limit (those it had before it was watched, plus the limit), which bounds
every insertion's probe chain by a constant: loading time stays linear in
the input. str, bytes, None, bools and ints below ``2**61 - 1`` in
magnitude are never counted: the first two hash with a per-process random
key, and such ints have distinct hashes (only -1 and -2 share one).

Every dict, set and frozenset a pickle builds is checked this way when its
keys go in, so the keys of an existing one may be hashed into a new
container again without another check.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

from ..errors import LimitExceededError
from ..generic import GenericAttribute, GenericObject
from ..limits import Limits
from .context import current_key_checker, current_limits

__all__ = ["HashKeyChecker", "check_hash_keys"]

#: sys.hash_info.modulus: ints of smaller magnitude hash to themselves.
HASH_MODULUS: Final = (1 << 61) - 1

#: Types whose hash recurses into the objects they hold: always measured.
NESTED_KINDS: Final = frozenset({tuple, GenericObject, GenericAttribute, slice})

#: Types whose hash is randomized per process (or constant): never counted.
UNCOUNTED_KINDS: Final = frozenset({str, bytes, bool, type(None)})

_ABSENT: Final = object()


def _children(obj: Any) -> Iterable[Any]:
    """What hashing ``obj`` recurses into."""
    kind = type(obj)
    if kind is GenericObject:
        return obj.args  # type: ignore[no-any-return]
    if kind is GenericAttribute:
        return (obj.owner,)
    if kind is slice:
        return (obj.start, obj.stop, obj.step)
    return obj  # type: ignore[no-any-return]


class _Colliding(set):  # type: ignore[type-arg]
    """The different keys seen with one hash (a private type, never a key)."""

    __slots__ = ()


class _Watched:
    """A container whose keys are counted by hash, kept alive with its table."""

    __slots__ = ("container", "table")

    def __init__(self, container: object) -> None:
        self.container = container
        # hash -> the one key seen with it, or a _Colliding set of them
        self.table: dict[int, object] = {}


#: Keys whose hashing visits at most this many objects are not charged to the
#: load's hashing budget (their cost is bounded by the input that makes them).
_FREE_KEY_SIZE = 64
#: A load may spend this many times ``max_key_size`` hashing bigger keys.
_KEY_BUDGET_FACTOR = 10


class HashKeyChecker:
    """Checks hash keys for one load, remembering what it has measured.

    Every tuple is walked once per checker, so checking many keys that share
    parts costs time linear in the data. Measured objects, and containers
    whose keys are counted, are kept alive by the checker so that their ids
    cannot be reused by other objects.
    """

    def __init__(self, limits: Limits) -> None:
        self.limit = limits.max_key_depth
        self.max_size = limits.max_key_size
        self.max_collisions = limits.max_hash_collisions
        self.max_digits = limits.max_number_digits
        # log2(10) bits per decimal digit, rounded up.
        self.max_int_bits = limits.max_number_digits * 3322 // 1000 + 1
        self.depths: dict[int, tuple[object, int]] = {}
        self.sizes: dict[int, int] = {}
        # Objects hashing keys bigger than _FREE_KEY_SIZE visits, in total.
        self.hashing = 0
        # Counted keys given to containers that have no len(), by id.
        self.given: dict[int, int] = {}
        self.watched: dict[int, _Watched] = {}

    # ------------------------------------------------------------ public

    def check(self, key: object, container: object) -> None:
        """Check one key about to go into the existing ``container``."""
        self._scan((key,), self._table(container, 1))

    def check_all(self, keys: Sequence[Any], container: object) -> None:
        """Check keys about to go into the existing ``container``."""
        self._scan(keys, self._table(container, len(keys)))

    def check_new(self, keys: Sequence[Any]) -> None:
        """Check the keys that will make up one new container."""
        self._scan(keys, {} if len(keys) > self.max_collisions else None)

    def measure(self, key: object) -> None:
        """Raise LimitExceededError if hashing ``key`` would recurse too deep."""
        if type(key) not in NESTED_KINDS:
            return
        depths = self.depths
        cached = depths.get(id(key))
        if cached is None or cached[0] is not key:
            self._walk(key)
        size = self.sizes[id(key)]
        if size > _FREE_KEY_SIZE:
            # Tuple hashes are not cached: every insertion of a big key hashes
            # all of it again, so reusing one key (or its parts) many times
            # would cost far more than the input it takes.
            self.hashing += size
            if self.hashing > _KEY_BUDGET_FACTOR * self.max_size:
                raise LimitExceededError(
                    f"hashing this pickle's keys would visit over "
                    f"{_KEY_BUDGET_FACTOR * self.max_size} objects "
                    f"({_KEY_BUDGET_FACTOR} x max_key_size)",
                    limit="max_key_size",
                )

    def _walk(self, key: object) -> None:
        """Measure an unmeasured nested key (and its unmeasured parts)."""
        depths = self.depths
        limit = self.limit
        sizes = self.sizes
        # Depth-first walk with an explicit path, so a deep chain is refused
        # after ``limit`` steps instead of being walked to the bottom.
        path: list[tuple[Any, Iterator[Any]]] = [(key, iter(_children(key)))]
        while path:
            obj, children = path[-1]
            for child in children:
                if type(child) in NESTED_KINDS:
                    seen = depths.get(id(child))
                    if seen is None or seen[0] is not child:
                        if len(path) >= limit:
                            raise _too_deep(limit)
                        path.append((child, iter(_children(child))))
                        break
            else:
                path.pop()
                depth = 1
                # Hashing visits every path: shared subtrees count each time.
                size = 1
                for child in _children(obj):
                    if type(child) in NESTED_KINDS:
                        depth = max(depth, depths[id(child)][1] + 1)
                        size += sizes[id(child)]
                    else:
                        size += 1
                depths[id(obj)] = (obj, depth)
                sizes[id(obj)] = size
                if size > self.max_size:
                    raise LimitExceededError(
                        f"hashing a key would visit {size} objects "
                        f"(limit {self.max_size})",
                        limit="max_key_size",
                    )
                if depth > limit:
                    raise _too_deep(limit)

    def _check_int(self, key: int) -> None:
        """Refuse an int key too big to compare cheaply.

        Two keys with one hash are compared, even in a dict of two: a
        ``Decimal`` or ``Fraction`` equal to a huge int modulo 2**61 - 1
        converts the whole int to compare (seconds for 250 KB of digits).
        Emulators already refuse numbers over ``max_number_digits``; ints
        the pickle spells directly (LONG4) are bounded here as keys.
        """
        if key.bit_length() > self.max_int_bits:
            raise LimitExceededError(
                f"an int of {key.bit_length()} bits as a dict key or set item "
                f"(more than Limits.max_number_digits = {self.max_digits} "
                "decimal digits: comparing it on a hash collision would stall)",
                limit="max_number_digits",
            )

    # ------------------------------------------------------------ counting

    def _scan(self, keys: Iterable[Any], table: dict[int, object] | None) -> None:
        """Measure every key; record those that are counted in ``table``."""
        nested = NESTED_KINDS
        uncounted = UNCOUNTED_KINDS
        if table is None:
            for key in keys:
                kind = type(key)
                if kind in nested:
                    self.measure(key)
                elif kind is int and not -HASH_MODULUS < key < HASH_MODULUS:
                    self._check_int(key)
            return
        absent = _ABSENT
        lookup = table.get
        for key in keys:
            kind = type(key)
            if kind is str:
                continue
            if kind is int:
                if -HASH_MODULUS < key < HASH_MODULUS:
                    continue
                self._check_int(key)
            elif kind is float:
                pass
            elif kind in nested:
                self.measure(key)
            elif kind in uncounted:
                continue
            try:
                h = hash(key)
            except TypeError:
                continue  # unhashable: putting it into the container fails anyway
            seen = lookup(h, absent)
            if seen is absent:
                table[h] = key
            elif seen is not key:
                self._collide(table, h, seen, key)

    def _table(self, container: object, adding: int) -> dict[int, object] | None:
        """The hash table of ``container`` if its keys are (now) counted.

        ``adding`` is how many keys are about to go in (some may not count).
        """
        ident = id(container)
        watched = self.watched.get(ident)
        if watched is not None:
            return watched.table
        if isinstance(container, (dict, set, frozenset)):
            size = len(container) + adding
        else:  # an emulator or generic object: count what it was given
            size = self.given.get(ident, 0) + adding
            self.given[ident] = size
        if size <= self.max_collisions:
            return None
        watched = _Watched(container)
        self.watched[ident] = watched
        return watched.table

    def _collide(
        self, table: dict[int, object], h: int, seen: object, key: object
    ) -> None:
        """Record ``key`` under the hash ``h`` already seen; refuse one too many."""
        if type(seen) is _Colliding:
            # Every key in it has the same hash: adding to it compares with
            # at most ``max_collisions`` others.
            seen.add(key)
            if len(seen) > self.max_collisions:
                raise LimitExceededError(
                    f"more than {self.max_collisions} different keys with the "
                    "same hash go into one dict or set (a hash-collision "
                    "attack would make inserting them take quadratic time)",
                    limit="max_hash_collisions",
                )
        elif seen != key:
            table[h] = _Colliding((seen, key))


def _too_deep(limit: int) -> LimitExceededError:
    return LimitExceededError(
        f"a hash key is nested more than {limit} tuples deep",
        limit="max_key_depth",
    )


def check_hash_keys(keys: Iterable[Any], into: object = None) -> None:
    """Refuse keys that would crash or stall CPython's hashing.

    Call this in an emulator before objects that came from the pickle are
    hashed: put into a ``dict``, ``set`` or ``frozenset`` (``dict(pairs)``,
    ``OrderedDict``, ``Counter``...), looked up in one, or passed to
    ``hash()``. Keys that are ``str``, ``bytes``, ``None``, ``bool`` or an
    ``int`` are cheap to check; checking the keys of a dict, set or frozenset
    the pickle built is not needed (they were checked when they went in).

    Args:
        keys: the keys (any iterable; it is read once).
        into: the existing container the keys are added to, when it may
            receive keys through several calls during one load (an
            instance's ``__dict__`` across BUILDs, say); omit it when the
            keys make up a new container.

    Raises:
        LimitExceededError: a key nests deeper than ``Limits.max_key_depth``
            (``limit="max_key_depth"``), hashing it would visit more than
            ``Limits.max_key_size`` objects (``"max_key_size"``), or more than
            ``Limits.max_hash_collisions`` different keys share one hash
            (``"max_hash_collisions"``).
    """
    checker = current_key_checker()
    if checker is None:  # outside a load: the current (default) limits
        checker = HashKeyChecker(current_limits())
    if not isinstance(keys, (list, tuple)):
        keys = list(keys)
    if into is None:
        checker.check_new(keys)
    else:
        checker.check_all(keys, into)
