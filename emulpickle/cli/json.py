"""``emulpickle json``: a file's contents as JSON.

The tree is encoded by :func:`emulpickle.to_builtins`; tensors and arrays
become ``{"$tensor": {dtype, shape, device}}``, or with ``--with-data``
nested lists of their values.
"""

from __future__ import annotations

import argparse
import sys

import emulpickle

from .jsonwrite import dump
from .load import load_file
from .tensors import (
    Marks,
    find_tensors,
    has_numpy_scalars,
    substitute_tensors,
    tensor_data,
    tensor_summary,
)

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """Run ``emulpickle json`` (see :func:`emulpickle.cli.parser.build_parser`)."""
    obj = load_file(args.file).obj
    marks = Marks(lambda t: {"$tensor": tensor_summary(t)})
    if has_numpy_scalars(obj) or find_tensors(obj):
        if args.with_data:
            obj = substitute_tensors(obj, tensor_data)
        else:
            obj = substitute_tensors(obj, marks.mark)
    data = emulpickle.to_builtins(obj)
    indent = args.indent if args.indent > 0 else None
    dump(data, sys.stdout, indent=indent, replace=marks.replace)
    return 0
