"""Tied and shared tensors: which rows show the same bytes, counted once.

A checkpoint stores each storage once, however many tensors view it: a
decoder weight tied to the embedding is saved as a second tensor on the
embedding's storage, and a slice or a transpose as a view of its base. The
tensor table marks such rows (``same as <name>`` for the same data seen the
same way, ``shares storage with <name>`` for another view of it) and its
totals count each storage's bytes once, so they add up to what the file
holds.

Torch tensors are described by the plugin's public
:func:`emulpickle_torch.cli_support.storage_span`; numpy arrays by their
base array and data address.
"""

from __future__ import annotations

from typing import Any

import attrs

from .plugins import torch_support
from .tensors import TensorRow, tensor_row
from .values import numpy_module

__all__ = ["Sharing", "mark_sharing"]


@attrs.frozen
class Sharing:
    """Rows with ties marked, and totals that count each storage once.

    Attributes:
        rows: one per tensor found, in order.
        numel: elements of the rows that are not ``same as`` another.
        nbytes: bytes of each storage once, plus those of tensors without
            one (sparse, nested, data-less) once per object.
        tied: rows that are ``same as`` an earlier one.
        views: rows that share an earlier row's storage with another view.
    """

    rows: list[TensorRow]
    numel: int
    nbytes: int
    tied: int
    views: int


def _storage_of(obj: Any) -> tuple[object, int, tuple[object, ...]] | None:
    """``(storage, its bytes, view)`` of a tensor or array, or None."""
    torch = torch_support()
    if torch is not None and torch.is_tensor(obj):
        span = torch.storage_span(obj)
        return None if span is None else (span.storage, span.nbytes, span.view)
    np = numpy_module()
    if np is None or not isinstance(obj, np.ndarray):
        return None
    base = obj
    while isinstance(base.base, np.ndarray):
        base = base.base
    address = obj.__array_interface__["data"][0]
    return base, int(base.nbytes), (address, obj.shape, obj.strides, obj.dtype.str)


def mark_sharing(found: list[tuple[str, object]]) -> Sharing:
    """The rows of ``(name, tensor)`` pairs (see
    :func:`emulpickle.cli.tensors.find_tensor_objects`), ties marked."""
    rows: list[TensorRow] = []
    # Each maps to the index of the first row seen there.
    by_view: dict[tuple[int, tuple[object, ...]], int] = {}
    by_storage: dict[int, int] = {}
    by_object: dict[int, int] = {}
    keep: list[object] = []  # storages stay alive: their ids stay unique
    numel = nbytes = tied = views = 0
    for index, (name, obj) in enumerate(found):
        row = tensor_row(name, obj)
        where = _storage_of(obj)
        if where is None:
            first = by_object.setdefault(id(obj), index)
            if first != index:
                row = attrs.evolve(row, same_as=rows[first].name)
        else:
            storage, size, view = where
            keep.append(storage)
            first = by_view.setdefault((id(storage), view), index)
            owner = by_storage.setdefault(id(storage), index)
            if first != index:
                row = attrs.evolve(row, same_as=rows[first].name)
            elif owner != index:
                row = attrs.evolve(row, shares_storage_with=rows[owner].name)
            else:
                nbytes += size
        if row.same_as is not None:
            tied += 1
        else:
            numel += row.numel or 0
            if where is None:
                nbytes += row.nbytes or 0
        views += row.shares_storage_with is not None
        rows.append(row)
    return Sharing(rows, numel, nbytes, tied, views)
