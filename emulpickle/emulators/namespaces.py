"""Emulators for ``types.SimpleNamespace`` and ``argparse.Namespace``.

Both come back as the real (pure data) namespaces; ``argparse`` is imported
only when a pickle needs it. Imports only ``base``.
"""

from __future__ import annotations

import types

from .base import Entry, NewableStdlibEmulator, StdlibEmulator, arity, entries_of, fail

__all__ = ["entries"]


def _simple_namespace(*args: object) -> object:
    what = "types.SimpleNamespace"
    arity(what, args, 0, 1)
    namespace = types.SimpleNamespace()
    if args:
        mapping = args[0]
        if type(mapping) is not dict or not all(type(k) is str for k in mapping):
            raise fail(what, "argument must be a dict with str keys")
        namespace.__dict__.update(mapping)
    return namespace


def _argparse_namespace(*args: object, **kwargs: object) -> object:
    import argparse

    if args or kwargs:
        raise fail("argparse.Namespace", "takes no arguments from a pickle")
    return argparse.Namespace()


def entries() -> list[Entry]:
    """The emulators of this family."""
    return entries_of(
        [
            StdlibEmulator("types", "SimpleNamespace", _simple_namespace),
            NewableStdlibEmulator(
                "argparse", "Namespace", _argparse_namespace, _argparse_namespace
            ),
        ]
    )
