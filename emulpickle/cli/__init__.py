"""The ``emulpickle`` command-line tool.

Subcommands: ``show`` (tree and tensor table), ``dis`` (annotated
disassembly), ``json`` (the loaded tree as JSON), ``scan`` (allowlist
verdict) and ``convert`` (torch checkpoint to safetensors). Nothing a file
names is ever imported or run.

Exit status: 0 on success; 1 when the answer is "no" (``scan``: something is
not clean; ``dis``: the pickle is malformed; ``convert``: the checkpoint holds
nothing that can be converted); 2 for a usage error or input that cannot be
read or loaded.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import IO, Any, cast

import emulpickle

from .jsonwrite import dump
from .load import CliError, Loaded, load_file, read_zip_pickle, sniff

__all__ = ["main"]

PROG = "emulpickle"
MAX_LINES = 200
MAX_ITEMS = 50
DEPTH = 6
#: rich renders trees recursively; deeper or longer trees are printed plainly.
_RICH_MAX_DEPTH = 60
_RICH_MAX_LINES = 5000
#: Plain trees are indented up to this level, then levels are numbered.
_MAX_INDENT = 32

_FORMATTER = argparse.RawDescriptionHelpFormatter


# ------------------------------------------------------------------ output


def _use_rich(stream: IO[str]) -> bool:
    """Whether to style output: a terminal, NO_COLOR unset, rich installed."""
    if os.environ.get("NO_COLOR") or not stream.isatty():
        return False
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def _print_table(
    headers: list[str], rows: list[list[str]], right: set[int], title: str
) -> None:
    if _use_rich(sys.stdout):
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for i, header in enumerate(headers):
            table.add_column(header, justify="right" if i in right else "left")
        for row in rows:
            table.add_row(*row)
        Console(highlight=False).print(table)
        return
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def fmt(row: list[str]) -> str:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    print(title)
    print(fmt(headers))
    print(fmt(["-" * w for w in widths]))
    for row in rows:
        print(fmt(row))


# -------------------------------------------------------------------- show


def _describe(loaded: Loaded) -> str | None:
    if loaded.npy is not None:
        h = loaded.npy
        order = "Fortran" if h.fortran_order else "C"
        shown = emulpickle.bounded_repr
        return (
            f".npy v{h.version[0]}.{h.version[1]}: dtype {shown(h.descr)}, "
            f"shape {shown(h.shape)}, {order} order"
        )
    if loaded.kind == "torch-zip":
        return "torch checkpoint (zip format)"
    if loaded.kind == "torch-legacy":
        return "torch checkpoint (legacy format)"
    if loaded.kind == "torch-tar":
        return "torch checkpoint (legacy tar format)"
    return None


def _indent(depth: int) -> str:
    """Two spaces a level; deep levels are numbered instead of indented."""
    if depth <= _MAX_INDENT:
        return "  " * depth
    return "  " * _MAX_INDENT + f"<{depth}> "


def _cmd_show(args: argparse.Namespace) -> int:
    from .show import build_tree, find_tensors, human_bytes, line_text

    loaded = load_file(args.file)
    obj = loaded.obj
    rows = find_tensors(obj)
    if args.json:
        from .show import (
            Marks,
            has_numpy_scalars,
            substitute_tensors,
            tensor_summary,
        )

        marks = Marks(lambda t: {"$tensor": tensor_summary(t)})
        needed = rows or has_numpy_scalars(obj)
        tree = obj
        if needed:
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
        return 0
    description = _describe(loaded)
    if description:
        print(description)
    lines, cut = build_tree(
        obj, depth=args.depth, max_items=args.max_items, max_lines=args.max_lines
    )
    rich_tree = (
        _use_rich(sys.stdout)
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
    if rows:
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
        _print_table(
            ["name", "dtype", "shape", "elements", "size", "device"],
            table_rows,
            {3, 4},
            title,
        )
    return 0


# -------------------------------------------------------------------- json


def _cmd_json(args: argparse.Namespace) -> int:
    from .show import (
        Marks,
        find_tensors,
        has_numpy_scalars,
        substitute_tensors,
        tensor_data,
        tensor_summary,
    )

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


# --------------------------------------------------------------------- dis


def _map(path: str) -> bytes:
    """The file's bytes, memory-mapped (read-only) when it is not empty."""
    import mmap

    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return f.read()
        # An mmap slices like bytes; disassemble only indexes and slices.
        return cast(bytes, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))


def _dis_source(path: str) -> tuple[bytes, int, int]:
    """``(data, start, max pickles)`` to disassemble for ``path``."""
    kind = sniff(path)
    if kind == "torch-zip":
        name, pickled = read_zip_pickle(path)
        print(f"# {name} in {path}")
        return pickled, 0, 1
    data = _map(path)
    if kind == "torch-tar":
        from ..formats import FormatError, tar

        try:
            member = tar.read_members(
                data, max_members=emulpickle.current_limits().max_archive_members
            ).get("pickle")
        except FormatError as exc:
            raise CliError(f"{path}: {exc}") from None
        if member is None:
            raise CliError(f"{path}: a tar archive without a 'pickle' member")
        print(f"# member 'pickle' of {path}")
        return data, member.offset, 1
    if kind == "npy":
        from .load import read_npy_header

        header = read_npy_header(path)
        if not header.has_objects:
            raise CliError(f"{path}: a .npy file of plain data holds no pickle")
        return data, header.data_offset, 1
    # A legacy torch file is 5 pickles followed by raw storage bytes.
    return data, 0, 5 if kind == "torch-legacy" else 0


def _global_dict(ref: Any) -> dict[str, object] | None:
    if ref is None:
        return None
    return {
        "module": ref.module,
        "name": ref.name,
        "via": ref.via,
        "offset": ref.offset,
    }


def _cmd_dis(args: argparse.Namespace) -> int:
    from ..disasm import disassemble, format_instruction

    data, start, limit = _dis_source(args.file)
    pickles: list[dict[str, object]] = []
    error: dict[str, object] | None = None
    count = 0
    pos = start
    while True:
        count += 1
        instructions: list[dict[str, object]] = []
        pickles.append({"start": pos, "instructions": instructions})
        if not args.json and count > 1:
            print(f"# pickle {count}, at offset {pos}")
        end = pos
        try:
            for ins in disassemble(data, start=pos):
                if args.json:
                    instructions.append(
                        {
                            "offset": ins.offset,
                            "opcode": ins.opcode,
                            "arg": emulpickle.to_builtins(ins.arg),
                            "note": ins.note,
                            "global": _global_dict(ins.global_ref),
                        }
                    )
                else:
                    print(format_instruction(ins))
                end = ins.offset + 1
                if ins.opcode == "STOP":
                    break
        except emulpickle.UnpicklingError as exc:
            error = {"offset": getattr(exc, "offset", None), "message": str(exc)}
            break
        pos = end
        if pos >= len(data) or (limit and count >= limit) or data[pos] != 0x80:
            break
    trailing = len(data) - pos if error is None else 0
    if args.json:
        out = {
            "file": args.file,
            "pickles": pickles,
            "trailing_bytes": trailing,
            "error": error,
        }
        dump(out, sys.stdout, indent=1)
    elif trailing:
        print(f"# {trailing} bytes after the last STOP")
    if error is not None:
        sys.stdout.flush()
        print(f"{PROG}: error: {args.file}: {error['message']}", file=sys.stderr)
        return 1
    return 0


# -------------------------------------------------------------------- scan


def _cmd_scan(args: argparse.Namespace) -> int:
    try:
        from emulpickle.scan import scan
    except ImportError as exc:
        raise CliError(f"scanning is not available: {exc}") from None
    status = 0
    results: list[dict[str, object]] = []
    order = {"dangerous": 0, "unknown": 1, "safe": 2}
    for path in args.files:
        try:
            with open(path, "rb"):
                pass
            report = scan(path)
        except Exception as exc:  # unreadable: report it, scan the rest
            if getattr(args, "debug", False):
                traceback.print_exc()
            prefix = "" if isinstance(exc, OSError) else f"{path}: "
            print(f"{PROG}: error: {prefix}{_one_line(exc)}", file=sys.stderr)
            status = 2
            results.append({"file": path, "error": str(exc)})
            continue
        if not report.clean:
            status = max(status, 1)
        findings = sorted(report.findings, key=lambda f: order.get(f.verdict, 1))
        if args.json:
            results.append({"file": path, **report.to_dict()})
            continue
        verdict = "clean" if report.clean else "NOT CLEAN"
        print(f"{path}: {verdict}")
        for f in findings:
            if f.verdict == "safe" and not args.all:
                continue
            name = f.target
            where = f" in {f.where}" if f.where else ""
            note = f" - {f.note}" if f.note else ""
            print(
                f"  {f.verdict:<9} {name} ({f.via} at offset {f.offset}{where}){note}"
            )
        safe = sum(1 for f in findings if f.verdict == "safe")
        if safe and not args.all:
            print(f"  ({safe} safe global{'s' if safe != 1 else ''} not listed)")
        for message in report.errors:
            print(f"  error: {message}")
    if args.json:
        dump({"clean": status == 0, "files": results}, sys.stdout, indent=2)
    return status


# ----------------------------------------------------------------- convert


def _metadata(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--metadata expects KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def _cmd_convert(args: argparse.Namespace) -> int:
    from .convert import convert

    summary = convert(
        args.source,
        args.target,
        key=args.key,
        metadata=_metadata(args.metadata or []),
        force=args.force,
    )
    print(summary, file=sys.stderr)
    return 0


# ------------------------------------------------------------------ parser


def _nonnegative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _build_parser() -> argparse.ArgumentParser:
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show a full traceback when something fails",
    )
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=_FORMATTER,
        description=(
            "Inspect Python pickles and torch checkpoints without importing or "
            "executing anything they name."
        ),
        epilog="""\
examples:
  emulpickle show model.pt              tree of the checkpoint + tensor table
  emulpickle dis data.pkl               annotated disassembly
  emulpickle json config.pkl            the contents as JSON
  emulpickle scan *.pkl                 which globals do these files name?
  emulpickle convert model.pt model.safetensors

exit status: 0 success, 1 "no" (scan: not clean, dis: malformed pickle,
convert: nothing convertible), 2 usage error or unreadable input.
""",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show a full traceback when something fails",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    show = sub.add_parser(
        "show",
        parents=[debug],
        formatter_class=_FORMATTER,
        help="show a file's contents as a tree, with a table of tensors",
        description=(
            "Load FILE (a pickle, a torch checkpoint or a .npy file) with unknown "
            "globals as generic placeholders and show it as a tree; tensors and "
            "arrays are listed in a table with totals. An object reached again "
            "is shown once and referred back to (&n)."
        ),
        epilog="""\
examples:
  emulpickle show model.pt
  emulpickle show --depth 2 checkpoint.pkl
  emulpickle show --json model.pt | jq '.tensors[].name'
""",
    )
    show.add_argument("file", metavar="FILE", help="the file to show")
    show.add_argument(
        "--depth",
        type=_nonnegative,
        default=DEPTH,
        metavar="N",
        help=f"levels shown below the root (default: {DEPTH})",
    )
    show.add_argument(
        "--max-items",
        type=_nonnegative,
        default=MAX_ITEMS,
        metavar="N",
        help=f"items shown per container (default: {MAX_ITEMS}; 0 = all)",
    )
    show.add_argument(
        "--max-lines",
        type=_nonnegative,
        default=MAX_LINES,
        metavar="N",
        help=f"stop the tree after N lines (default: {MAX_LINES}; 0 = no limit)",
    )
    show.add_argument(
        "--json",
        action="store_true",
        help="print the tree (cut at --depth), tensors and totals as JSON",
    )

    dis = sub.add_parser(
        "dis",
        parents=[debug],
        formatter_class=_FORMATTER,
        help="disassemble a pickle, annotated",
        description=(
            "List FILE's pickle opcodes with offsets, arguments and notes (mark "
            "depth, memo slots, the globals named). For a torch zip checkpoint "
            "its data.pkl is listed; for a legacy one its pickles in turn. A "
            "malformed pickle is listed up to the fault, then the error is "
            "reported with its offset and the exit status is 1."
        ),
        epilog="""\
examples:
  emulpickle dis data.pkl
  emulpickle dis model.pt | grep GLOBAL
  emulpickle dis --json data.pkl
""",
    )
    dis.add_argument("file", metavar="FILE", help="the file to disassemble")
    dis.add_argument("--json", action="store_true", help="print JSON")

    js = sub.add_parser(
        "json",
        parents=[debug],
        formatter_class=_FORMATTER,
        help="print a file's contents as JSON",
        description=(
            "Load FILE and print it as JSON (see emulpickle.to_builtins for the "
            'encoding). Tensors and arrays become {"$tensor": {dtype, shape, '
            "device}} unless --with-data is given."
        ),
        epilog="""\
examples:
  emulpickle json config.pkl
  emulpickle json --with-data small.pt > small.json
""",
    )
    js.add_argument("file", metavar="FILE", help="the file to convert to JSON")
    js.add_argument(
        "--with-data",
        action="store_true",
        help="write tensors and arrays as nested lists of their values",
    )
    js.add_argument(
        "--indent",
        type=_nonnegative,
        default=2,
        metavar="N",
        help="indentation (default: 2; 0 = compact)",
    )

    scan = sub.add_parser(
        "scan",
        parents=[debug],
        formatter_class=_FORMATTER,
        help="check which globals files name, against an allowlist",
        description=(
            "Scan each FILE (without loading it) for the globals it names and "
            "give each a verdict: safe, dangerous or unknown. Dangerous findings "
            "are listed first. Exit status 0 when every file is clean, 1 when "
            "something is not, 2 for a usage error or unreadable input."
        ),
        epilog="""\
examples:
  emulpickle scan model.pt
  emulpickle scan --json downloads/*.pkl
""",
    )
    scan.add_argument("files", metavar="FILE", nargs="+", help="files to scan")
    scan.add_argument("--json", action="store_true", help="print JSON")
    scan.add_argument(
        "--all", action="store_true", help="list safe findings too (text output)"
    )

    convert = sub.add_parser(
        "convert",
        parents=[debug],
        formatter_class=_FORMATTER,
        help="convert a torch checkpoint's state dict to safetensors",
        description=(
            "Write the state dict of MODEL (a torch.save file) to OUT in the "
            "safetensors format, without torch. The state dict is the top-level "
            "dict of tensors, the first of state_dict / model_state_dict / model "
            "/ module / net holding one, the parameters and buffers of a pickled "
            "module, or what --key names. Views are written as contiguous "
            "copies and tensors sharing storage as separate tensors. The "
            'metadata always has format=pt unless --metadata sets "format".'
        ),
        epilog="""\
examples:
  emulpickle convert model.pt model.safetensors
  emulpickle convert ckpt.pt out.safetensors --key model.ema
  emulpickle convert model.pt out.safetensors --metadata source=model.pt --force
""",
    )
    convert.add_argument("source", metavar="MODEL", help="the torch checkpoint")
    convert.add_argument("target", metavar="OUT", help="the .safetensors file to write")
    convert.add_argument(
        "--key",
        metavar="K",
        help="where the state dict is: keys separated by dots (e.g. model)",
    )
    convert.add_argument(
        "--metadata",
        nargs="+",
        action="extend",
        metavar="KEY=VALUE",
        help="string metadata to store in the header",
    )
    convert.add_argument(
        "--force", action="store_true", help="overwrite OUT if it exists"
    )
    return parser


_COMMANDS = {
    "show": _cmd_show,
    "dis": _cmd_dis,
    "json": _cmd_json,
    "scan": _cmd_scan,
    "convert": _cmd_convert,
}


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, (MemoryError, RecursionError)) or not str(exc):
        text = f"{type(exc).__name__}: {text}" if str(exc) else text
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    """Run the ``emulpickle`` command.

    Args:
        argv: the arguments after the program name; ``sys.argv[1:]`` when
            omitted.

    Returns:
        The exit status: 0 on success, 1 when the answer is "no" (see the
        module documentation), 2 for a usage error or unreadable input.
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on usage errors and --help
        return exc.code if isinstance(exc.code, int) else 2
    debug = getattr(args, "debug", False)
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        if debug:
            raise
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except CliError as exc:
        if debug:
            traceback.print_exc()
        sys.stdout.flush()
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return exc.status
    except Exception as exc:
        if debug:
            traceback.print_exc()
        with_path = not isinstance(exc, OSError) and hasattr(args, "file")
        prefix = f"{args.file}: " if with_path else ""
        print(f"{PROG}: error: {prefix}{_one_line(exc)}", file=sys.stderr)
        return 2
