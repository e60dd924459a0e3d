"""The ``emulpickle`` command-line tool.

Only ``emulpickle show FILE`` exists for now: it loads a pickle with unknown
globals turned into generic placeholders and pretty-prints the result, without
importing or running anything the pickle names.
"""

from __future__ import annotations

import argparse
import pprint
import sys

import emulpickle

__all__ = ["main"]

PROG = "emulpickle"
MAX_LINES = 200
WIDTH = 100


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Inspect Python pickles without importing or executing anything they name."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    show = sub.add_parser(
        "show",
        help="load a pickle safely and pretty-print its contents",
        description=(
            "Load FILE with emulpickle (unknown globals become generic "
            "placeholders) and pretty-print the result."
        ),
    )
    show.add_argument("file", metavar="FILE", help="path of the pickle file")
    show.add_argument(
        "--max-lines",
        type=int,
        default=MAX_LINES,
        metavar="N",
        help=f"truncate the output after N lines (default: {MAX_LINES}; 0 = no limit)",
    )
    return parser


def _truncate(text: str, max_lines: int) -> str:
    """Return ``text`` cut to at most ``max_lines`` lines, saying what was cut."""
    lines = text.splitlines()
    if max_lines <= 0 or len(lines) <= max_lines:
        return text
    hidden = len(lines) - max_lines
    return "\n".join([*lines[:max_lines], f"... ({hidden} more lines)"])


def _show(path: str, max_lines: int) -> int:
    with open(path, "rb") as f:
        obj = emulpickle.load(f, unknown="generic")
    print(_truncate(pprint.pformat(obj, width=WIDTH), max_lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``emulpickle`` command.

    Args:
        argv: the arguments after the program name; ``sys.argv[1:]`` when
            omitted.

    Returns:
        The exit status: 0 on success, 2 for a usage error or for input that
        cannot be read or loaded.
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on usage errors and --help
        return exc.code if isinstance(exc.code, int) else 2
    try:
        # "show" is the only command so far; argparse rejects any other.
        return _show(args.file, args.max_lines)
    except (emulpickle.UnpicklingError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
