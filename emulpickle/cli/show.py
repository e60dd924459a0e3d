"""``emulpickle show``: a file's contents as a tree, with a table of tensors.

Once the file is loaded, and before anything is printed, it is scanned
(:mod:`emulpickle.cli.danger`; a TorchScript archive, which is not loaded,
too): a file naming dangerous globals gets a one-line warning on stderr,
and the exit status stays 0 (``show`` did what was asked; ``emulpickle
scan`` is the command whose status answers "is this file safe?").

``--path`` shows one subtree (:mod:`emulpickle.cli.subtree`), ``--filter``
narrows the tensor table, ``--no-tensors`` leaves it out. With ``--json``
the shown tree (:mod:`emulpickle.cli.showjson`), the tensors and their
totals are printed as one JSON document instead.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys

import attrs

import emulpickle

from . import output
from .danger import Verdict, scan_file
from .jsonwrite import dump
from .load import Loaded, load_file
from .output import human_bytes, print_table
from .plugins import torch_support
from .sharing import Sharing, mark_sharing
from .showjson import cuts, shown_tree
from .subtree import find_subtree
from .tensors import (
    Marks,
    Part,
    TensorRow,
    find_tensor_objects,
    join_path,
    tensor_row,
    tensor_summary,
)
from .tree import Line, Node, line_text, plan_tree, render
from .values import distinct_names

__all__ = ["run"]

#: rich renders trees recursively; deeper or longer trees are printed plainly.
_RICH_MAX_DEPTH = 60
_RICH_MAX_LINES = 5000
#: Plain trees are indented up to this level, then levels are numbered.
_MAX_INDENT = 32
#: Tensor names longer than this lose their middle in the table.
_NAME_WIDTH = 100
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


@attrs.frozen
class _Tensors:
    """The tensor table: rows shown (after ``--filter``) and their totals."""

    rows: list[TensorRow]
    totals: Sharing
    found: int  # before --filter
    notes: dict[str, str]  # name -> " (same as ...)" for the tree


def _note(row: TensorRow) -> str:
    if row.same_as is not None:
        return f"same as {row.same_as}"
    if row.shares_storage_with is not None:
        return f"shares storage with {row.shares_storage_with}"
    return ""


def _tensors(
    args: argparse.Namespace,
    root: object,
    subtree: tuple[object, tuple[Part, ...]] | None,
    verdict: Verdict | None,
    plain: bool,
) -> _Tensors:
    """The tensors under ``subtree`` (``--path``; the whole file when None)
    that ``--filter`` keeps, marked against every tensor of the file (a
    weight under ``--path`` may be tied to one elsewhere)."""
    if args.no_tensors or (plain and verdict is not None and verdict.builtins_only):
        # A pickle naming no global holds no tensor: no need to look.
        return _Tensors([], mark_sharing([]), 0, {})
    everything = find_tensor_objects(root)
    marked = mark_sharing(everything).rows
    found = everything
    if subtree is not None:
        found = find_tensor_objects(*subtree)
        by_name = {row.name: row for row in marked}
        marked = [by_name.get(name) or tensor_row(name, t) for name, t in found]
    notes = {row.name: f" ({_note(row)})" for row in marked if _note(row)}
    keep = [
        i
        for i, row in enumerate(marked)
        if not args.filter
        or any(fnmatch.fnmatchcase(row.name, glob) for glob in args.filter)
    ]
    # Totals of what is listed, each storage once among those rows.
    totals = mark_sharing([found[i] for i in keep])
    return _Tensors([marked[i] for i in keep], totals, len(found), notes)


def _hidden() -> frozenset[str]:
    torch = torch_support()
    return torch.MODULE_STATE_KEYS if torch is not None else frozenset()


def _plan(
    args: argparse.Namespace, obj: object, parts: tuple[Part, ...], tensors: _Tensors
) -> tuple[Node, bool]:
    hidden = _hidden()

    def note(node: Node) -> str:
        return tensors.notes.get(join_path(node.parts(), hidden), "")

    return plan_tree(
        obj,
        depth=args.depth,
        max_items=args.max_items,
        max_lines=args.max_lines,
        root_parts=parts,
        note=note if tensors.notes else None,
    )


def _totals_dict(tensors: _Tensors) -> dict[str, object]:
    t = tensors.totals
    return {
        "count": len(tensors.rows),
        "numel": t.numel,
        "nbytes": t.nbytes,
        "tied": t.tied,
        "views": t.views,
    }


def _print_json(
    args: argparse.Namespace,
    loaded: Loaded,
    verdict: Verdict | None,
    top: Node,
    tensors: _Tensors,
) -> None:
    marks = Marks(lambda t: {"$tensor": tensor_summary(t)})
    hidden = _hidden()

    def tensor(node: Node) -> object:
        entry: dict[str, object] = {"$tensor": tensor_summary(node.obj)}
        shared = tensors.notes.get(join_path(node.parts(), hidden))
        if shared:
            entry["shared"] = shared.strip(" ()")
        return marks.add(entry)

    out: dict[str, object] = {
        "file": args.file,
        "format": loaded.kind,
        "scan": None if verdict is None else verdict.to_dict(),
    }
    if args.path is not None:
        out["path"] = args.path
    out["tree"] = emulpickle.to_builtins(shown_tree(top, marks, tensor))
    out["cut"] = cuts(top, hidden)
    out["tensors"] = [row.to_dict() for row in tensors.rows]
    out["totals"] = _totals_dict(tensors)
    if loaded.npy is not None:
        h = loaded.npy
        out["npy"] = {
            "descr": emulpickle.to_builtins(h.descr),
            "fortran_order": h.fortran_order,
            "shape": list(h.shape),
            "version": list(h.version),
        }
    dump(out, sys.stdout, indent=2, replace=marks.replace)


def _print_tree(args: argparse.Namespace, lines: list[Line], cut: bool) -> None:
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
        print(
            f"... (output stopped at {args.max_lines} lines, shared level by "
            "level; see --max-lines, --path)"
        )


def _title(args: argparse.Namespace, tensors: _Tensors) -> str:
    rows, t = tensors.rows, tensors.totals
    noun = "array" if all(r.kind == "ndarray" for r in rows) else "tensor"
    count = f"{len(rows)} {noun}{'s' if len(rows) != 1 else ''}"
    if args.filter:
        count = f"{len(rows)} of {tensors.found} {noun}s match"
    title = f"{count}, {t.numel:,} elements, {human_bytes(t.nbytes)}"
    shared = []
    if t.tied:
        shared.append(f"{t.tied} same as another")
    if t.views:
        shared.append(f"{t.views} sharing a storage")
    if shared:
        title += f" ({', '.join(shared)}: each storage counted once)"
    return title


def _print_tensors(args: argparse.Namespace, tensors: _Tensors) -> None:
    rows = tensors.rows
    shown = distinct_names([r.name for r in rows], _NAME_WIDTH)
    short = dict(zip((r.name for r in rows), shown, strict=True))
    headers = ["name", "dtype", "shape", "elements", "size", "device"]
    if any(_note(r) for r in rows):
        headers.append("shared")
    table_rows = []
    for r, name in zip(rows, shown, strict=True):
        cells = [
            name,
            r.dtype,
            "?" if r.shape is None else "[" + ", ".join(map(str, r.shape)) + "]",
            "?" if r.numel is None else f"{r.numel:,}",
            human_bytes(r.nbytes),
            r.device,
        ]
        if len(headers) == 7:
            note = _note(r)
            for full in (r.same_as, r.shares_storage_with):
                if full is not None:
                    note = note.replace(full, short.get(full, full))
            cells.append(note)
        table_rows.append(cells)
    print()
    print_table(headers, table_rows, {3, 4}, _title(args, tensors))


def _warn(args: argparse.Namespace, verdict: Verdict | None) -> None:
    """The scan's one-line warning on standard error, if it has one."""
    warning = None if verdict is None else verdict.warning(args.file)
    if warning is not None:
        sys.stdout.flush()
        print(f"{output.PROG}: {warning}", file=sys.stderr)


def _is_torchscript(exc: BaseException) -> bool:
    """Whether loading failed on a TorchScript archive (the plugin's error,
    kept as the context of the command's own)."""
    if torch_support() is None:
        return False
    from emulpickle_torch import TorchScriptArchiveError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TorchScriptArchiveError):
            return True
        seen = seen.__context__
    return False


def run(args: argparse.Namespace) -> int:
    """Run ``emulpickle show`` (see :func:`emulpickle.cli.parser.build_parser`).

    Returns 0 when the file was shown, whatever the scan says (the warning
    is on standard error).
    """
    try:
        loaded = load_file(args.file)
    except Exception as exc:
        # A TorchScript archive is refused, and its code is what the warning
        # is about. Other failures are not scanned: a file the loader's
        # limits refuse (a zip bomb) would only cost the scanner the same.
        if _is_torchscript(exc):
            _warn(args, scan_file(args.file))
        raise
    # Scanned after loading: the loader's limits refuse hostile archives
    # first. Nothing is printed before the warning.
    verdict = scan_file(args.file)
    _warn(args, verdict)
    obj: object = loaded.obj
    parts: tuple[Part, ...] = ()
    if args.path is not None:
        obj, parts = find_subtree(obj, args.path)
    subtree = None if args.path is None else (obj, parts)
    plain = loaded.kind == "pickle"
    tensors = _tensors(args, loaded.obj, subtree, verdict, plain)
    top, cut = _plan(args, obj, parts, tensors)
    if args.json:
        _print_json(args, loaded, verdict, top, tensors)
        return 0
    description = _describe(loaded)
    if description and args.path is None:
        print(description)
    if args.path is not None:
        print(f"{join_path(parts, _hidden())}:")
    _print_tree(args, render(top), cut)
    if tensors.rows:
        _print_tensors(args, tensors)
    elif args.filter and tensors.found:
        print(f"\nno tensor name matches {', '.join(map(repr, args.filter))}")
    return 0
