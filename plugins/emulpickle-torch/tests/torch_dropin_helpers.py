"""Helpers for proving the drop-in against torch.load: saving, comparing trees.

Everything here needs torch at call time (the importing tests skip without it).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from torch_ckpt_helpers import torch_bits

#: (container, pickle protocol) pairs that torch.save writes and the proof covers.
SAVE_FORMATS = [
    ("zip", 2),
    ("zip", 4),
    ("zip", 5),
    ("legacy", 2),
    ("legacy", 4),
    ("legacy", 5),
]
FORMAT_IDS = [f"{kind}-p{protocol}" for kind, protocol in SAVE_FORMATS]


def torch_save(obj: Any, path: Path, fmt: tuple[str, int]) -> Path:
    """``torch.save`` ``obj`` in container ``fmt[0]`` with protocol ``fmt[1]``."""
    import torch

    kind, protocol = fmt
    torch.save(
        obj,
        path,
        pickle_protocol=protocol,
        _use_new_zipfile_serialization=kind == "zip",
    )
    return path


def digest(path: Path) -> str:
    """The file's sha256: loaded tensors written in place must not change it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_same_tree(ours: Any, theirs: Any, where: str = "root") -> None:
    """``ours`` is what ``theirs`` is, type for type and bit for bit."""
    import torch

    assert type(ours) is type(theirs), (where, type(ours), type(theirs))
    if isinstance(theirs, torch.Tensor):
        assert ours.dtype == theirs.dtype, where
        assert ours.shape == theirs.shape, where
        assert ours.stride() == theirs.stride(), where
        assert ours.storage_offset() == theirs.storage_offset(), where
        assert ours.requires_grad == theirs.requires_grad, where
        assert ours.device == theirs.device, where
        assert np.array_equal(torch_bits(ours), torch_bits(theirs)), where
    elif isinstance(theirs, torch.TypedStorage | torch.UntypedStorage):
        assert ours.dtype == theirs.dtype, where
        assert bytes(ours.untyped()) == bytes(theirs.untyped()), where
    elif isinstance(theirs, np.ndarray | np.generic):
        assert ours.dtype == theirs.dtype, where
        assert np.shape(ours) == np.shape(theirs), where
        assert np.asarray(ours).tobytes() == np.asarray(theirs).tobytes(), where
    elif isinstance(theirs, dict):
        assert list(ours) == list(theirs), where
        for key in theirs:
            assert_same_tree(ours[key], theirs[key], f"{where}[{key!r}]")
        # A state dict's _metadata (module versions) steers load_state_dict.
        assert getattr(ours, "__dict__", {}) == getattr(theirs, "__dict__", {}), where
    elif isinstance(theirs, list | tuple):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same_tree(a, b, f"{where}[{i}]")
    elif isinstance(theirs, argparse.Namespace) or dataclasses.is_dataclass(theirs):
        assert_same_tree(vars(ours), vars(theirs), where)
    elif isinstance(theirs, torch.nn.Module):
        assert_same_tree(ours.state_dict(), theirs.state_dict(), where)
    elif isinstance(theirs, float) and math.isnan(theirs):
        assert math.isnan(ours), where
    else:
        assert ours == theirs, where


def _tensors(tree: Any, where: str = "root") -> Iterator[tuple[str, Any]]:
    import torch

    if isinstance(tree, torch.Tensor):
        yield where, tree
    elif isinstance(tree, dict):
        for key, value in tree.items():
            yield from _tensors(value, f"{where}[{key!r}]")
    elif isinstance(tree, list | tuple):
        for i, value in enumerate(tree):
            yield from _tensors(value, f"{where}[{i}]")


def sharing(tree: Any) -> tuple[list[list[str]], list[list[str]]]:
    """Which tensors share a storage, and which are one object, by path."""
    storages: dict[int, list[str]] = {}
    objects: dict[int, list[str]] = {}
    for where, tensor in _tensors(tree):
        if tensor.numel():
            storages.setdefault(tensor.untyped_storage().data_ptr(), []).append(where)
        objects.setdefault(id(tensor), []).append(where)
    return (
        sorted(group for group in storages.values() if len(group) > 1),
        sorted(group for group in objects.values() if len(group) > 1),
    )


def assert_same_load(ours: Any, theirs: Any) -> None:
    """Equal trees, with the same tensors sharing storages and identities."""
    assert_same_tree(ours, theirs)
    assert sharing(ours) == sharing(theirs)
