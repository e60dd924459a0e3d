"""Real sparse tensors (COO, CSR, CSC, BSR, BSC), indices checked first.

torch's sparse constructors index memory with the indices they are given;
``torch.load`` builds the tensor unchecked and validates afterwards. Here
every shape, dtype and index bound is checked on the plain index tensors
before a sparse constructor runs, and torch's own invariant check
(``check_invariants=True``) runs as well, for the finer rules (sorted,
unique plain indices per row). Meta tensors (``map_location="meta"``) have
no indices to check and no memory to index: only their shapes are checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulpickle import EmulationError, bounded_repr

from ._tensor import SparseTensor

if TYPE_CHECKING:
    from ._real import TorchBuilder

__all__ = ["build_sparse"]

_COMPRESSED = {
    # layout: (row-major, blocked)
    "sparse_csr": (True, False),
    "sparse_csc": (False, False),
    "sparse_bsr": (True, True),
    "sparse_bsc": (False, True),
}


def _fail(what: str) -> EmulationError:
    return EmulationError(f"invalid sparse tensor: {what}")


def _size(sparse: SparseTensor) -> tuple[int, ...]:
    size = sparse.shape
    if any(not 0 <= n < 1 << 62 for n in size):
        raise _fail(f"size {bounded_repr(size)}")
    return size


def build_sparse(builder: TorchBuilder, sparse: SparseTensor) -> Any:
    """The torch sparse tensor for ``sparse`` (indices validated first)."""
    values = builder.convert(sparse.values)
    if sparse.layout == "sparse_coo":
        assert sparse.indices is not None
        indices = builder.convert(sparse.indices)
        size = _size(sparse)
        _check_coo(builder.torch, indices, values, size)
        return builder._call(
            "sparse tensor",
            builder.torch.sparse_coo_tensor,
            indices,
            values,
            size,
            is_coalesced=sparse.is_coalesced,
            check_invariants=_has_data(indices),
        )
    assert sparse.compressed_indices is not None and sparse.plain_indices is not None
    compressed = builder.convert(sparse.compressed_indices)
    plain = builder.convert(sparse.plain_indices)
    size = _size(sparse)
    _check_compressed(builder.torch, sparse.layout, compressed, plain, values, size)
    return builder._call(
        "sparse tensor",
        builder.torch.sparse_compressed_tensor,
        compressed,
        plain,
        values,
        size,
        layout=getattr(builder.torch, sparse.layout),
        check_invariants=_has_data(compressed, plain),
    )


def _has_data(*tensors: Any) -> bool:
    return all(t.device.type != "meta" for t in tensors)


def _check_coo(torch: Any, indices: Any, values: Any, size: tuple[int, ...]) -> None:
    if indices.dtype != torch.int64 or indices.dim() != 2:
        raise _fail("COO indices must be a 2-D int64 tensor")
    sparse_dims, nnz = indices.shape
    if sparse_dims > len(size):
        raise _fail("more sparse dimensions than the size has")
    if values.dim() != 1 + len(size) - sparse_dims or values.shape[0] != nnz:
        raise _fail("values do not match the indices")
    if tuple(values.shape[1:]) != size[sparse_dims:]:
        raise _fail("values do not match the dense dimensions of the size")
    if nnz and sparse_dims and _has_data(indices):
        low = indices.amin(dim=1).tolist()
        high = indices.amax(dim=1).tolist()
        for dim in range(sparse_dims):
            if low[dim] < 0 or high[dim] >= size[dim]:
                bad = high[dim] if low[dim] >= 0 else low[dim]
                raise _fail(
                    f"COO index {bounded_repr(bad)} out of range for dimension "
                    f"{dim} of size {size[dim]}"
                )


def _check_compressed(
    torch: Any,
    layout: str,
    compressed: Any,
    plain: Any,
    values: Any,
    size: tuple[int, ...],
) -> None:
    kind = _COMPRESSED.get(layout)
    if kind is None:
        raise _fail(f"layout {bounded_repr(layout)}")
    row_major, blocked = kind
    if (
        compressed.dtype not in (torch.int32, torch.int64)
        or plain.dtype != compressed.dtype
    ):
        raise _fail("compressed and plain indices must both be int32 or int64")
    if compressed.dim() < 1 or plain.dim() != compressed.dim():
        raise _fail("index tensors have the wrong number of dimensions")
    batch = tuple(compressed.shape[:-1])
    if tuple(plain.shape[:-1]) != batch or len(size) < len(batch) + 2:
        raise _fail("batch dimensions disagree")
    if tuple(size[: len(batch)]) != batch:
        raise _fail("batch dimensions disagree with the size")
    rows, cols = size[len(batch)], size[len(batch) + 1]
    nnz = plain.shape[-1]
    expected_values: tuple[int, ...] = (*batch, nnz)
    if blocked:
        if values.dim() < len(batch) + 3:
            raise _fail("block values need two block dimensions")
        block_rows, block_cols = values.shape[len(batch) + 1 : len(batch) + 3]
        if block_rows <= 0 or block_cols <= 0 or rows % block_rows or cols % block_cols:
            raise _fail("the block size does not divide the size")
        rows, cols = rows // block_rows, cols // block_cols
        expected_values += (block_rows, block_cols)
    dense = size[len(batch) + 2 :]
    if tuple(values.shape) != expected_values + tuple(dense):
        raise _fail("values do not match the indices and the size")
    outer, inner = (rows, cols) if row_major else (cols, rows)
    if compressed.shape[-1] != outer + 1:
        raise _fail("compressed indices have the wrong length")
    if not _has_data(compressed, plain):
        return
    flat = compressed.reshape(-1, outer + 1)
    if bool((flat[:, 0] != 0).any()) or bool((flat[:, -1] != nnz).any()):
        raise _fail("compressed indices must start at 0 and end at the value count")
    if outer and bool((flat[:, 1:] < flat[:, :-1]).any()):
        raise _fail("compressed indices must not decrease")
    if nnz and (int(plain.min()) < 0 or int(plain.max()) >= inner):
        raise _fail("plain index out of range")
