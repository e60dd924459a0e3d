"""Shared helpers for the emulpickle-numpy tests (uniquely named on purpose)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import numpy as np

import emulpickle

REGISTRY = emulpickle.Registry.with_plugins("numpy")


def emulate(data: bytes, **options: Any) -> Any:
    """Load ``data`` with the numpy plugin registry."""
    return emulpickle.loads(data, registry=REGISTRY, **options)


def assert_same_array(got: Any, want: Any) -> None:
    """``got`` is exactly what ``pickle.loads`` produced as ``want``."""
    assert type(got) is type(want)
    assert got.dtype == want.dtype
    assert got.dtype.str == want.dtype.str
    assert got.dtype.descr == want.dtype.descr
    assert got.dtype.metadata == want.dtype.metadata
    assert got.shape == want.shape
    assert got.flags.c_contiguous == want.flags.c_contiguous
    assert got.flags.f_contiguous == want.flags.f_contiguous
    assert got.flags.writeable == want.flags.writeable
    if want.dtype.hasobject or want.dtype.kind == "T":
        assert got.tolist() == want.tolist()
    else:
        assert got.tobytes(order="A") == want.tobytes(order="A")


def assert_same(got: Any, want: Any) -> None:
    """Compare arrays, scalars or dtypes the strict way."""
    if isinstance(want, np.ndarray):
        assert_same_array(got, want)
    elif isinstance(want, np.dtype):
        assert type(got) is type(want)
        assert got == want
        assert got.str == want.str
        assert got.descr == want.descr
        assert got.flags == want.flags
        assert got.isalignedstruct == want.isalignedstruct
        assert got.metadata == want.metadata
    else:
        assert type(got) is type(want)
        assert np.asarray(got).dtype == np.asarray(want).dtype
        if isinstance(want, np.generic) and not np.asarray(want).dtype.hasobject:
            assert np.asarray(got).tobytes() == np.asarray(want).tobytes()
        else:
            assert got == want


def roundtrip(obj: Any, protocol: int) -> tuple[Any, Any]:
    """(emulpickle result, pickle result) for ``obj`` at ``protocol``."""
    data = pickle.dumps(obj, protocol)
    return emulate(data), pickle.loads(data)


def walk(obj: Any, seen: set[int] | None = None) -> Iterator[Any]:
    """Every object reachable from ``obj`` through containers and generics."""
    if seen is None:
        seen = set()
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield obj
    children: list[Any] = []
    if isinstance(obj, emulpickle.GenericObject):
        children = [obj.args, obj.kwargs, obj.state, obj.list_items, obj.dict_items]
        children.append(obj.set_items)
    elif isinstance(obj, dict):
        children = [*obj.keys(), *obj.values()]
    elif isinstance(obj, (list, tuple, set, frozenset)):
        children = list(obj)
    elif isinstance(obj, np.ndarray) and obj.dtype.hasobject:
        children = list(obj.ravel())
    for child in children:
        yield from walk(child, seen)


def arrays_in(obj: Any) -> list[np.ndarray[Any, Any]]:
    """The real ndarrays reachable from ``obj``."""
    return [x for x in walk(obj) if isinstance(x, np.ndarray)]
