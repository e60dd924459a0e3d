"""The command line's inputs: ``-`` for standard input, and several files per command.

``show``, ``json`` and ``dis`` take one or more files (:func:`run_each`
runs the command once per file, with a ``==> FILE <==`` header line when
there are several, and exits with the worst status; JSON output gets no
header, so that several documents form a stream that ``jq`` reads); ``-`` reads standard
input, once, whole (a stream cannot be read twice or mapped).
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable

__all__ = ["EACH", "STDIN", "display_name", "is_stdin", "run_each", "stdin_bytes"]

#: The name that stands for standard input.
STDIN = "-"
#: The commands that take several files (``args.files``) and run per file.
EACH = ("show", "json", "dis")


def is_stdin(name: str) -> bool:
    """Whether ``name`` stands for standard input."""
    return name == STDIN


@functools.cache
def stdin_bytes() -> bytes:
    """Everything on standard input (read once; later calls give the same)."""
    return sys.stdin.buffer.read()


def display_name(name: str) -> str:
    """What messages and headers call the input ``name``."""
    return "standard input" if is_stdin(name) else name


def run_each(
    run: Callable[[argparse.Namespace], int],
    args: argparse.Namespace,
    report: Callable[[BaseException, argparse.Namespace], int],
) -> int:
    """Run ``run(args)`` for each of ``args.files`` (as ``args.file``).

    With several files each output starts with a ``==> FILE <==`` line
    (after a blank line between files), except JSON output (``json``,
    ``--json``): its documents follow one another, in the order of the
    files, as a stream of JSON values; a file that fails is reported by
    ``report``, which gives its status, and the others still run.

    Returns:
        The worst (highest) status.
    """
    files: list[str] = args.files
    status = 0
    # Header lines would make the JSON stream unreadable by parsers.
    is_json = args.command == "json" or bool(getattr(args, "json", False))
    headers = len(files) > 1 and not is_json
    for index, name in enumerate(files):
        if headers:
            if index:
                print()
            print(f"==> {display_name(name)} <==", flush=True)
        args.file = name
        try:
            status = max(status, run(args))
        except (KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as exc:
            status = max(status, report(exc, args))
    return status
