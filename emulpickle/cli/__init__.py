"""The ``emulpickle`` command-line tool (``emulpickle.cli:main``).

Subcommands: ``show`` (tree and tensor table), ``dis`` (annotated
disassembly), ``json`` (the loaded tree as JSON), ``scan`` (allowlist
verdict), ``convert`` (torch checkpoint to safetensors) and ``completion``
(a shell completion script). Nothing a file names is ever imported or run.
``show``, ``json`` and ``dis`` take several files; ``-`` reads standard
input; ``--version`` names the installed plugins too.

Exit status: 0 on success; 1 when the answer is "no" (``scan``: something is
not clean; ``dis``: the pickle is malformed; ``convert``: the checkpoint holds
nothing that can be converted); 2 for a usage error or input that cannot be
read or loaded.

Modules: :mod:`~emulpickle.cli.parser` (arguments and help), one per
command (``show``, ``dis``, ``json``, ``scan``, ``convert``,
``completion``, each with ``run(args)``), :mod:`~emulpickle.cli.load`
(load a file with :func:`emulpickle.open_file`),
:mod:`~emulpickle.cli.inputs` (``-`` and several files),
:mod:`~emulpickle.cli.tensors` and :mod:`~emulpickle.cli.tree` (what
``show`` and ``json`` print), :mod:`~emulpickle.cli.output` (tables,
styling, errors), :mod:`~emulpickle.cli.jsonwrite` (an iterative JSON
writer) and :mod:`~emulpickle.cli.plugins` (the plugins' public APIs).
The CLI uses the scanner, the unpickler, the registry, the formats and the
plugins; nothing imports the CLI.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from .inputs import EACH, display_name, run_each
from .output import CliError, one_line, print_error
from .parser import build_parser

__all__ = ["main"]


def _report(exc: BaseException, args: argparse.Namespace) -> int:
    """Print ``emulpickle: error: ...`` for a failure (a traceback first with
    ``--debug``); returns the exit status it calls for."""
    if getattr(args, "debug", False):
        traceback.print_exc()
    if isinstance(exc, CliError):
        print_error(one_line(exc))
        return exc.status
    name = getattr(args, "file", None)
    prefix = ""
    if isinstance(name, str) and not isinstance(exc, OSError):
        prefix = f"{display_name(name)}: "
    print_error(f"{prefix}{one_line(exc)}")
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the ``emulpickle`` command.

    Args:
        argv: the arguments after the program name; ``sys.argv[1:]`` when
            omitted.

    Returns:
        The exit status: 0 on success, 1 when the answer is "no" (see the
        module documentation), 2 for a usage error or unreadable input.
        With several files, the worst status of any.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on usage errors and --help
        return exc.code if isinstance(exc.code, int) else 2
    debug = getattr(args, "debug", False)
    try:
        command = importlib.import_module(f"{__name__}.{args.command}")
        if args.command in EACH:
            return run_each(command.run, args, _report)
        status: int = command.run(args)
        return status
    except KeyboardInterrupt:
        if debug:
            raise
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        return _report(exc, args)
