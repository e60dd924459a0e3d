"""What the trusting-hook tests share: the protocols, a user class that
several pickling styles hold, an Unpickler subclass whose find_class imports
for real, the opcode names of a pickle, and hooks that raise.
"""

from __future__ import annotations

import pickle
import pickletools
from collections.abc import Callable
from typing import Any

from helpers.strategies import real_find_class

import emulpickle

PROTOCOLS = list(range(pickle.HIGHEST_PROTOCOL + 1))


class Plain:
    def __init__(self, a: Any = 1, b: Any = None) -> None:
        self.a = a
        self.b = [a, str(a)] if b is None else b


class RealUnpickler(emulpickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return real_find_class(module, name)


def _opnames(data: bytes) -> list[str]:
    return [op.name for op, _, _ in pickletools.genops(data)]


class HookError(Exception):
    pass


def _raiser(err: BaseException) -> Callable[..., Any]:
    def hook(*args: Any) -> Any:
        raise err

    return hook
