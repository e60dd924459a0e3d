"""Comparing what torch_load returns with what torch.load returns, bit for bit."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from torch_ckpt_helpers import torch_bits


def assert_same(ours: Any, theirs: Any, where: str = "root", ptrs: Any = None) -> None:
    """``ours`` equals ``theirs``: structure, types, tensors bit for bit.

    ``ptrs``, when given, is a list collecting (path, our storage pointer,
    their storage pointer) for strided tensors, for :func:`assert_same_sharing`.
    """
    import torch

    assert type(ours) is type(theirs), (where, type(ours), type(theirs))
    if isinstance(theirs, torch.Tensor):
        assert ours.is_nested == theirs.is_nested, where
        if theirs.is_nested:
            assert ours.requires_grad == theirs.requires_grad, where
            for a, b in zip(ours.unbind(), theirs.unbind(), strict=True):
                assert_same(a, b, where + "[nested]")
            return
        assert ours.dtype == theirs.dtype, where
        assert ours.layout == theirs.layout, where
        assert ours.shape == theirs.shape, where
        assert ours.requires_grad == theirs.requires_grad, where
        assert ours.device == theirs.device, where
        assert ours.is_quantized == theirs.is_quantized, where
        if theirs.layout != torch.strided:
            if theirs.layout == torch.sparse_coo:
                assert ours.is_coalesced() == theirs.is_coalesced(), where
            dense_ours, dense_theirs = ours.to_dense(), theirs.to_dense()
            assert torch.equal(dense_ours, dense_theirs), where
            return
        assert ours.stride() == theirs.stride(), where
        assert ours.storage_offset() == theirs.storage_offset(), where
        assert ours.is_conj() == theirs.is_conj(), where
        assert ours.is_neg() == theirs.is_neg(), where
        if theirs.is_quantized:
            assert ours.qscheme() == theirs.qscheme(), where
            assert torch.equal(ours.int_repr(), theirs.int_repr()), where
            if theirs.qscheme() in (torch.per_tensor_affine,):
                assert ours.q_scale() == theirs.q_scale(), where
                assert ours.q_zero_point() == theirs.q_zero_point(), where
            else:
                assert torch.equal(
                    ours.q_per_channel_scales(), theirs.q_per_channel_scales()
                )
                assert ours.q_per_channel_axis() == theirs.q_per_channel_axis()
            return
        if theirs.device.type == "meta":
            return
        assert (torch_bits(ours) == torch_bits(theirs)).all(), where
        assert ours.__dict__.keys() == theirs.__dict__.keys() - {"_backward_hooks"}
        if ptrs is not None:
            ptrs.append(
                (
                    where,
                    ours.untyped_storage().data_ptr(),
                    theirs.untyped_storage().data_ptr(),
                )
            )
        return
    if isinstance(theirs, dict):
        assert list(ours.keys()) == list(theirs.keys()), where
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{where}[{key!r}]", ptrs)
        if isinstance(theirs, OrderedDict):
            assert getattr(ours, "_metadata", None) == getattr(
                theirs, "_metadata", None
            ), where
        return
    if isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), where
        for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, f"{where}[{index}]", ptrs)
        return
    if hasattr(theirs, "__array__") and not isinstance(theirs, (int, float)):
        import numpy as np

        assert np.array_equal(np.asarray(ours), np.asarray(theirs)), where
        return
    assert ours == theirs or (ours != ours and theirs != theirs), where


def assert_same_sharing(ptrs: list[tuple[str, int, int]]) -> None:
    """Tensors share a storage in ours exactly when they do in theirs."""
    ours: dict[int, set[str]] = {}
    theirs: dict[int, set[str]] = {}
    for where, a, b in ptrs:
        if a == 0 or b == 0:  # empty storages have no memory to share
            continue
        ours.setdefault(a, set()).add(where)
        theirs.setdefault(b, set()).add(where)
    groups = sorted(sorted(g) for g in ours.values())
    assert groups == sorted(sorted(g) for g in theirs.values())
