"""The ``emulpickle`` command line: its arguments, options and help texts.

Each subcommand has a module of its own in :mod:`emulpickle.cli` (``show``,
``dis``, ``json``, ``scan``, ``convert``) with a ``run(args)`` function;
:func:`build_parser` names the module in ``args.command``.
"""

from __future__ import annotations

import argparse
from typing import Any

from .output import PROG

__all__ = [
    "COMMANDS",
    "DEPTH",
    "JSON_MAX_BYTES",
    "MAX_ITEMS",
    "MAX_LINES",
    "SHELLS",
    "build_parser",
]

#: The subcommands, each run by ``emulpickle.cli.<name>.run(args)``.
COMMANDS = ("show", "dis", "json", "scan", "convert", "completion", "manifest")
MAX_LINES = 200
#: ``json --with-data`` refuses more tensor/array data than this by default.
JSON_MAX_BYTES = 64 << 20
MAX_ITEMS = 50
DEPTH = 6

_FORMATTER = argparse.RawDescriptionHelpFormatter
#: The shells ``emulpickle completion`` writes scripts for.
SHELLS = ("bash", "zsh", "fish")


class _Version(argparse.Action):
    """``--version``: prints emulpickle's and the plugins' versions, then
    exits (computed only when asked: finding plugins reads metadata)."""

    def __init__(self, option_strings: list[str], dest: str, help: str) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from .plugins import version_line

        print(version_line())
        parser.exit()


def _command(
    sub: Any,
    name: str,
    parents: list[argparse.ArgumentParser],
    **texts: str,
) -> argparse.ArgumentParser:
    """A subcommand's parser, sharing the parents' options and the layout."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, parents=parents, formatter_class=_FORMATTER, **texts
    )
    return parser


def _positive(text: str) -> int:
    value = _nonnegative(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _nonnegative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``emulpickle`` command line."""
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
  curl -sL URL | emulpickle show -      read standard input
  source <(emulpickle completion bash)  tab completion in this shell

exit status: 0 success, 1 "no" (scan: not clean, dis: malformed pickle,
convert: nothing convertible), 2 usage error or unreadable input.
""",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show a full traceback when something fails",
    )
    parser.add_argument(
        "--version",
        action=_Version,
        help="print emulpickle's version and the installed plugins' versions",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    show = _command(
        sub,
        "show",
        [debug],
        help="show a file's contents as a tree, with a table of tensors",
        description=(
            "Load FILE (a pickle, a torch checkpoint or a .npy file) with unknown "
            "globals as generic placeholders and show it as a tree; tensors and "
            "arrays are listed in a table with totals (tied weights and views of "
            "one storage are marked and counted once). An object reached again "
            "is shown once and referred back to (&n). The --max-lines budget is "
            "shared level by level: every top-level key is shown before deeper "
            "ones. A file naming dangerous globals (the scan's verdict) gets a "
            "one-line warning on stderr; the exit status stays 0."
        ),
        epilog="""\
examples:
  emulpickle show model.pt
  emulpickle show --depth 2 checkpoint.pkl
  emulpickle show --path optimizer.param_groups ckpt.pt
  emulpickle show --filter '*.self_attn.*' --max-lines 20 model.pt
  emulpickle show --json model.pt | jq '.tensors[].name'
""",
    )
    show.add_argument(
        "files", metavar="FILE", nargs="+", help="the files to show (-: stdin)"
    )
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
        help="print what show shows (the same cuts), tensors and totals as JSON",
    )
    # -- show: what to show (issue #14)
    show.add_argument(
        "--path",
        metavar="KEYS",
        help=(
            "show only the value there: keys joined by dots, the longest key "
            "matching first (a key may hold dots), integers or [i] index "
            "lists; any name in the tensor table works (e.g. model.fc.weight, "
            "optimizer.state.0)"
        ),
    )
    show.add_argument(
        "--filter",
        metavar="GLOB",
        action="append",
        help=(
            "list only tensors whose name matches GLOB (fnmatch, case-"
            "sensitive: '*' matches dots too; repeat for several)"
        ),
    )
    show.add_argument(
        "--no-tensors",
        action="store_true",
        help="leave out the tensor table (and its walk of the whole file)",
    )

    dis = _command(
        sub,
        "dis",
        [debug],
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
    dis.add_argument(
        "files", metavar="FILE", nargs="+", help="the files to disassemble (-: stdin)"
    )
    dis.add_argument("--json", action="store_true", help="print JSON")

    js = _command(
        sub,
        "json",
        [debug],
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
    js.add_argument(
        "files", metavar="FILE", nargs="+", help="the files to print (-: stdin)"
    )
    js.add_argument(
        "--with-data",
        action="store_true",
        help="write tensors and arrays as nested lists of their values",
    )
    js.add_argument(
        "--max-bytes",
        type=_nonnegative,
        default=JSON_MAX_BYTES,
        metavar="N",
        help="with --with-data, refuse files whose tensors and arrays hold more "
        f"than N bytes of data (default: {JSON_MAX_BYTES}, 64 MiB; 0 = no limit); "
        "emulpickle convert FILE out.npz writes them to a file numpy reads",
    )
    js.add_argument(
        "--indent",
        type=_nonnegative,
        default=2,
        metavar="N",
        help="indentation (default: 2; 0 = compact)",
    )

    scan = _command(
        sub,
        "scan",
        [debug],
        help="check which globals files name, against an allowlist",
        description=(
            "Scan each file under each PATH (without loading it) for the globals "
            "it names and give each a verdict: safe, dangerous or unknown. "
            "Dangerous findings are listed first; the text output ends with a "
            "summary table. Files are scanned on worker processes (--jobs) or a "
            "Dask cluster (--dask); results are cached by the file's sha256. "
            "Exit status 0 when every file is clean, 1 when something is not "
            "(or fails the --policy), 2 for a usage error or unreadable input."
        ),
        epilog="""\
examples:
  emulpickle scan model.pt
  emulpickle scan --json downloads/*.pkl
  emulpickle scan --jobs 4 --exclude '*.txt' --sarif mirror/ > scan.sarif
  emulpickle scan --policy policy.json --jsonl s3://bucket/models/
""",
    )
    # -- scan: paths, workers, reports, policy, cache, Dask (issue #18) --
    scan.add_argument(
        "files",
        metavar="PATH",
        nargs="+",
        help="files and directories to scan (directories recursively; -: stdin)",
    )
    scan.add_argument("--json", action="store_true", help="print one JSON document")
    scan.add_argument(
        "--jsonl",
        action="store_true",
        help="print one JSON object per file, a line each, as results arrive",
    )
    scan.add_argument("--sarif", action="store_true", help="print a SARIF 2.1.0 log")
    scan.add_argument(
        "--all", action="store_true", help="list safe findings too (text output)"
    )
    scan.add_argument(
        "--exclude",
        metavar="GLOB",
        action="append",
        default=[],
        help="leave out paths (relative to the PATH given) or base names "
        "matching GLOB (repeatable)",
    )
    scan.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="follow symlinks in directories (never out of the PATH given)",
    )
    scan.add_argument(
        "--jobs",
        "-j",
        type=_positive,
        metavar="N",
        help="worker processes (default: all cores; 1: in this process)",
    )
    scan.add_argument(
        "--policy",
        metavar="FILE",
        help="a JSON policy: extra allowed globals, severities, what fails",
    )
    scan.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where the result cache lives (default: the user's cache directory)",
    )
    scan.add_argument(
        "--no-cache", action="store_true", help="do not use the result cache"
    )
    scan.add_argument(
        "--dask",
        metavar="SCHEDULER_ADDRESS",
        help="scan on a Dask cluster (needs distributed: the dask extra)",
    )

    convert = _command(
        sub,
        "convert",
        [debug],
        help="write a torch checkpoint's state dict to safetensors or .npz",
        description=(
            "Write the state dict of MODEL (a torch.save file) to OUT, without "
            "torch: safetensors for OUT.safetensors, numpy's format for OUT.npz "
            "(any other extension is an error). The state dict is the top-level "
            "dict of tensors, the first of state_dict / model_state_dict / model "
            "/ module / net holding one, the parameters and buffers of a pickled "
            "module, or what --key names. Tied tensors (identical views of one "
            "storage) are written once and the other names recorded in the "
            "metadata as aliases; other views are written as copies. Quantized "
            "tensors become integers plus <name>.scale / <name>.zero_point "
            "(/ <name>.axis), sparse ones their index and value tensors. A tensor "
            "that cannot be written is an error (exit status 1) listing every "
            "such tensor, unless --skip-unsupported is given. The metadata "
            'always has format=pt unless --metadata sets "format".'
        ),
        epilog="""\
examples:
  emulpickle convert model.pt model.safetensors
  emulpickle convert model.pt arrays.npz
  emulpickle convert ckpt.pt out.safetensors --key model.ema
  emulpickle convert model.pt out.safetensors --metadata source=model.pt --force
""",
    )
    convert.add_argument("source", metavar="MODEL", help="the torch checkpoint")
    convert.add_argument(
        "target", metavar="OUT", help="the file to write: *.safetensors or *.npz"
    )
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
    convert.add_argument(
        "--skip-unsupported",
        action="store_true",
        help="write the tensors that can be written, listing the others "
        "(default: write nothing and exit with status 1)",
    )

    completion = _command(
        sub,
        "completion",
        [debug],
        help="print a shell completion script (bash, zsh or fish)",
        description=(
            "Print a completion script for SHELL, generated from these "
            "options. Load it in the current shell with "
            "'source <(emulpickle completion bash)' (bash, zsh) or "
            "'emulpickle completion fish | source' (fish); see docs/cli.md "
            "to install it for good."
        ),
        epilog="""\
examples:
  emulpickle completion bash > ~/.local/share/bash-completion/completions/emulpickle
  emulpickle completion zsh > ~/.zfunc/_emulpickle
  emulpickle completion fish > ~/.config/fish/completions/emulpickle.fish
""",
    )
    completion.add_argument(
        "shell", metavar="SHELL", choices=SHELLS, help="bash, zsh or fish"
    )
    manifest = _command(
        sub,
        "manifest",
        [debug],
        help="pin pickle files by sha256 in a lock file, or check them against it",
        description=(
            "freeze: write MANIFEST pinning, by sha256, every pickle-bearing file "
            "at or under PATH (raw and stacked pickles, torch checkpoints, .npy "
            "of objects, .npz, joblib files, compressed pickles: recognised by "
            "their contents; a container is pinned by its own hash). Directories "
            "are walked recursively; symlinks inside them are not followed. "
            "check: list the pickle files under PATH that MANIFEST does not pin "
            "(exit status 1 if any). add: pin more files. remove: unpin files, "
            "by PATH or sha256:HEX. Paths are stored relative to the manifest's "
            "directory. Hashes are cached per user (set EMULPICKLE_NO_HASH_CACHE=1 "
            "to always hash)."
        ),
        epilog="""\
examples:
  emulpickle manifest freeze models/ data/ -o pickles.lock
  emulpickle manifest check models/ data/ -m pickles.lock
  emulpickle manifest add new-model.pt --note "reviewed by ann" -m pickles.lock
  emulpickle manifest remove old-model.pt -m pickles.lock

exit status: 0 done (check: all pinned), 1 check: some file is not pinned
(remove: an argument matched nothing), 2 unreadable manifest or file.
""",
    )
    manifest.add_argument(
        "action",
        metavar="ACTION",
        choices=("freeze", "check", "add", "remove"),
        help="freeze, check, add or remove",
    )
    manifest.add_argument(
        "paths",
        metavar="PATH",
        nargs="+",
        help="files or directories (remove: also sha256:HEX)",
    )
    manifest.add_argument(
        "-m",
        "-o",
        "--manifest",
        "--output",
        dest="manifest",
        metavar="FILE",
        help="the manifest (default: pickles.lock)",
    )
    manifest.add_argument(
        "--note", metavar="TEXT", help="freeze/add: a note on each entry"
    )
    manifest.add_argument(
        "--trust",
        choices=("pickle", "emulate"),
        help="freeze/add: load these with the real pickle (reviewed) or "
        "only through emulpickle",
    )
    return parser
