"""Refuse hash keys nested deep enough to overflow the C stack.

CPython hashes a tuple by hashing its items recursively in C, with no
recursion guard: hashing a tuple nested a million levels deep (a pickle of a
few megabytes) crashes the interpreter. Before the machine or an emulator
hashes an object built from pickle data (dict keys, set and frozenset items),
its tuple nesting is measured iteratively and refused past
``Limits.max_key_depth``. Frozensets stop the recursion (their hash is
computed from hashes cached at insertion), so only tuples, and generic
objects (which hash their argument tuple), are walked.

Tuple hashes are not cached either, so a key built from shared subtrees
(``x = (x, x)`` sixty times over) takes 2**60 steps to hash: the number of
objects hashing would visit is bounded by ``Limits.max_key_size``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .errors import LimitExceededError
from .generic import GenericObject

__all__ = ["KeyDepthChecker"]


def _children(obj: Any) -> Iterable[Any]:
    """What hashing ``obj`` recurses into."""
    return obj.args if type(obj) is GenericObject else obj


class KeyDepthChecker:
    """Measures tuple nesting of hash keys, remembering what it has measured.

    Every container is walked once per checker, so checking many keys that
    share parts costs time linear in the data. Measured objects are kept
    alive by the cache so their ids cannot be reused by other objects.
    """

    def __init__(self, limit: int, max_size: int) -> None:
        self.limit = limit
        self.max_size = max_size
        self.depths: dict[int, tuple[object, int]] = {}
        self.sizes: dict[int, int] = {}

    def check(self, key: object) -> None:
        """Raise LimitExceededError if hashing ``key`` would recurse too deep."""
        kind = type(key)
        if kind is not tuple and kind is not GenericObject:
            return
        depths = self.depths
        cached = depths.get(id(key))
        if cached is not None and cached[0] is key:
            return
        limit = self.limit
        sizes = self.sizes
        # Depth-first walk with an explicit path, so a deep chain is refused
        # after ``limit`` steps instead of being walked to the bottom.
        path: list[tuple[Any, Iterator[Any]]] = [(key, iter(_children(key)))]
        while path:
            obj, children = path[-1]
            for child in children:
                kind = type(child)
                if kind is tuple or kind is GenericObject:
                    seen = depths.get(id(child))
                    if seen is None or seen[0] is not child:
                        if len(path) >= limit:
                            raise LimitExceededError(
                                f"a hash key is nested more than {limit} tuples deep",
                                limit="max_key_depth",
                            )
                        path.append((child, iter(_children(child))))
                        break
            else:
                path.pop()
                depth = 1
                # Hashing visits every path: shared subtrees count each time.
                size = 1
                for child in _children(obj):
                    kind = type(child)
                    if kind is tuple or kind is GenericObject:
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
                    raise LimitExceededError(
                        f"a hash key is nested more than {limit} tuples deep",
                        limit="max_key_depth",
                    )

    def check_all(self, items: Iterable[Any]) -> None:
        """Check every element of an iterable of keys."""
        for item in items:
            kind = type(item)
            if kind is tuple or kind is GenericObject:
                self.check(item)
