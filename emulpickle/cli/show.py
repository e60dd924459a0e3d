"""``emulpickle show``: a file's contents as a tree, with a table of tensors.

With ``--json`` the tree (cut at ``--depth``), the tensors and their totals
are printed as one JSON document instead.
"""

from __future__ import annotations

import argparse
import sys

import emulpickle

from . import output
from .jsonwrite import dump
from .load import Loaded, load_file
from .output import human_bytes, print_table
from .tensors import (
    Marks,
    TensorRow,
    find_tensors,
    has_numpy_scalars,
    substitute_tensors,
    tensor_summary,
)
from .tree import build_tree, line_text

__all__ = ["run"]

#: rich renders trees recursively; deeper or longer trees are printed plainly.
_RICH_MAX_DEPTH = 60
_RICH_MAX_LINES = 5000
#: Plain trees are indented up to this level, then levels are numbered.
_MAX_INDENT = 32
_DESCRIPTIONS = {
    "torch-zip": "torch checkpoint (zip format)",
    "torch-legacy": "torch checkpoint (legacy format)",
    "torch-tar": "torch checkpoint (legacy tar format)",
}


def _describe(loaded: Loaded) -> str | None:
    if loaded.npy is not None:
        h = loaded.npy
        order = "Fortran" if h.fortran_order else "C"
        shown = emulpickle.bounded_repr
        return (
            f".npy v{h.version[0]}.{h.version[1]}: dtype {shown(h.descr)}, "
            f"shape {shown(h.shape)}, {order} order"
        )
    return _DESCRIPTIONS.get(loaded.kind)


def _indent(depth: int) -> str:
    """Two spaces a level; deep levels are numbered instead of indented."""
    if depth <= _MAX_INDENT:
        return "  " * depth
    return "  " * _MAX_INDENT + f"<{depth}> "


def _print_json(
    args: argparse.Namespace, loaded: Loaded, rows: list[TensorRow]
) -> None:
    obj = loaded.obj
    marks = Marks(lambda t: {"$tensor": tensor_summary(t)})
    tree = obj
    if rows or has_numpy_scalars(obj):
        tree = substitute_tensors(obj, marks.mark, max_depth=args.depth)
    out = {
        "file": args.file,
        "format": loaded.kind,
        "tree": emulpickle.to_builtins(tree, max_depth=args.depth),
        "tensors": [row.to_dict() for row in rows],
        "totals": {
            "count": len(rows),
            "numel": sum(r.numel or 0 for r in rows),
            "nbytes": sum(r.nbytes or 0 for r in rows),
        },
    }
    if loaded.npy is not None:
        h = loaded.npy
        out["npy"] = {
            "descr": emulpickle.to_builtins(h.descr),
            "fortran_order": h.fortran_order,
            "shape": list(h.shape),
            "version": list(h.version),
        }
    dump(out, sys.stdout, indent=2, replace=marks.replace)


def _print_tree(args: argparse.Namespace, obj: object) -> None:
    lines, cut = build_tree(
        obj, depth=args.depth, max_items=args.max_items, max_lines=args.max_lines
    )
    rich_tree = (
        output.use_rich(sys.stdout)
        and len(lines) <= _RICH_MAX_LINES
        and max(line.depth for line in lines) <= _RICH_MAX_DEPTH
    )
    if rich_tree:
        from rich.console import Console
        from rich.text import Text
        from rich.tree import Tree

        root = Tree(Text(line_text(lines[0])))
        parents = [root]
        for line in lines[1:]:
            del parents[line.depth :]
            node = parents[-1].add(Text(line_text(line)))
            parents.append(node)
        Console(highlight=False).print(root)
    else:
        for line in lines:
            print(_indent(line.depth) + line_text(line))
    if cut:
        print(f"... (output stopped at {args.max_lines} lines; see --max-lines)")


def _print_tensors(rows: list[TensorRow]) -> None:
    numel = sum(r.numel or 0 for r in rows)
    nbytes = sum(r.nbytes or 0 for r in rows)
    noun = "array" if all(r.kind == "ndarray" for r in rows) else "tensor"
    title = (
        f"{len(rows)} {noun}{'s' if len(rows) != 1 else ''}, "
        f"{numel:,} elements, {human_bytes(nbytes)}"
    )
    table_rows = [
        [
            r.name,
            r.dtype,
            "?" if r.shape is None else "[" + ", ".join(map(str, r.shape)) + "]",
            "?" if r.numel is None else f"{r.numel:,}",
            human_bytes(r.nbytes),
            r.device,
        ]
        for r in rows
    ]
    print()
    print_table(
        ["name", "dtype", "shape", "elements", "size", "device"],
        table_rows,
        {3, 4},
        title,
    )


def run(args: argparse.Namespace) -> int:
    """Run ``emulpickle show`` (see :func:`emulpickle.cli.parser.build_parser`)."""
    loaded = load_file(args.file)
    rows = find_tensors(loaded.obj)
    if args.json:
        _print_json(args, loaded, rows)
        return 0
    description = _describe(loaded)
    if description:
        print(description)
    _print_tree(args, loaded.obj)
    if rows:
        _print_tensors(rows)
    return 0
