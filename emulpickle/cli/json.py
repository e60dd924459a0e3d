"""``emulpickle json``: a file's contents as JSON, streamed.

The tree is encoded by :func:`emulpickle.to_builtins`; tensors and arrays
become ``{"$tensor": {dtype, shape, device}}``, or with ``--with-data``
nested lists of their values, written a block of rows at a time. A tree
of plain values (dicts, lists, strings, numbers: see
:func:`~emulpickle.cli.jsonwrite.is_plain`) is its own encoding and is
written directly by the json module's C encoder.

``--with-data`` refuses more than ``--max-bytes`` of tensor and array data
(64 MiB by default): as JSON it would be several times bigger and take
minutes to write; ``emulpickle convert`` writes it to a file numpy reads.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import emulpickle

from .jsonwrite import MAX_INDENT_LEVEL, RawJson, c_encoder, dump, dump_plain, is_plain
from .load import TORCH_KINDS, load_file
from .output import CliError, human_bytes
from .plugins import torch_support
from .tensors import (
    Marks,
    find_tensors,
    has_numpy_scalars,
    substitute_tensors,
    tensor_summary,
)
from .values import numpy_module

__all__ = ["BLOCK", "data_nbytes", "run", "tensor_json"]

#: Values converted to Python numbers at once while writing tensor data.
BLOCK = 1 << 16


def data_nbytes(obj: Any) -> int:
    """The bytes of a tensor's or array's values as ``--with-data`` writes
    them (a sparse tensor counts its dense size)."""
    torch = torch_support()
    if torch is not None and torch.is_tensor(obj):
        return int(torch.dense_nbytes(obj))
    return int(obj.nbytes)


def _values(obj: Any) -> Any:
    """A numpy array (or a list of them, or None) to write for ``obj``."""
    torch = torch_support()
    if torch is not None and torch.is_tensor(obj):
        return torch.tensor_array(obj)
    array = obj
    if array.dtype.kind == "V":
        with contextlib.suppress(TypeError, ValueError):
            array = array.astype(numpy_module().float32)
    return array


class _TensorText:
    """The JSON text of tensor values: innermost rows on one line."""

    def __init__(self, indent: int | None) -> None:
        self.indent = indent
        sep, key_sep = (", ", ": ") if indent else (",", ":")
        self.encode = c_encoder(key_sep, sep)
        self.sep = sep

    def newline(self, level: int) -> str:
        if self.indent is None:
            return ""
        return "\n" + " " * (self.indent * min(level, MAX_INDENT_LEVEL))

    def numbers(self, block: Any) -> str:
        """``block`` (1-d) as a JSON array; values JSON has no number for
        (nan, inf, complex) are encoded as :func:`emulpickle.to_builtins` does."""
        np = numpy_module()
        values = block.tolist()
        plain = block.dtype.kind in "biu" or (
            block.dtype.kind == "f" and bool(np.isfinite(block).all())
        )
        if not plain:
            values = emulpickle.to_builtins(values)
        return "".join(self.encode(values, 0))

    def pieces(self, value: Any, level: int) -> Iterator[str]:
        if value is None:
            yield "null"
            return
        if isinstance(value, list):  # a nested tensor's components
            yield "["
            for i, part in enumerate(value):
                yield ("," if i else "") + self.newline(level + 1)
                yield from self.pieces(part, level + 1)
            yield self.newline(level) + "]"
            return
        if value.ndim == 0:
            yield self.numbers(value.reshape(1))[1:-1]
            return
        if value.ndim == 1:
            yield "["
            for start in range(0, value.shape[0], BLOCK):
                text = self.numbers(value[start : start + BLOCK])
                yield (self.sep if start else "") + text[1:-1]
            yield "]"
            return
        if value.shape[0] == 0:
            yield "[]"
            return
        yield "[" + self.newline(level + 1)
        for i in range(value.shape[0]):
            if i:
                yield "," + self.newline(level + 1)
            yield from self.pieces(value[i], level + 1)
        yield self.newline(level) + "]"


def tensor_json(obj: Any, indent: int | None) -> RawJson:
    """A tensor's or array's values as JSON, produced as they are written
    (a block of :data:`BLOCK` values in memory at a time, as Python numbers)."""
    text = _TensorText(indent)
    return RawJson(lambda level: text.pieces(_values(obj), level))


def _refuse(path: str, kind: str, total: int, limit: int) -> CliError:
    hint = ""
    if kind in TORCH_KINDS:
        hint = (
            f", or write them to a file numpy reads: emulpickle convert {path} out.npz"
        )
    return CliError(
        f"{path}: its tensors and arrays hold {human_bytes(total)} of data, more "
        f"than --max-bytes ({human_bytes(limit)}); as JSON that is several times "
        f"bigger and slow to write. Raise the limit with --max-bytes {total} "
        f"(0 = no limit){hint}"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``emulpickle json`` (see :func:`emulpickle.cli.parser.build_parser`)."""
    loaded = load_file(args.file)
    obj = loaded.obj
    indent = args.indent if args.indent > 0 else None
    if is_plain(obj):
        dump_plain(obj, sys.stdout, indent)
        return 0
    total = 0
    if args.with_data:

        def encode(tensor: Any) -> object:
            nonlocal total
            total += data_nbytes(tensor)
            return tensor_json(tensor, indent)

        marks = Marks(encode)
    else:
        marks = Marks(lambda t: {"$tensor": tensor_summary(t)})
    if has_numpy_scalars(obj) or find_tensors(obj):
        obj = substitute_tensors(obj, marks.mark)
    if args.with_data and args.max_bytes and total > args.max_bytes:
        raise _refuse(args.file, loaded.kind, total, args.max_bytes)
    data = emulpickle.to_builtins(obj)
    dump(
        data, sys.stdout, indent=indent, replace=marks.replace if marks.values else None
    )
    return 0
