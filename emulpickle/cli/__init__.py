"""The ``emulpickle`` command-line tool (``emulpickle.cli:main``).

Subcommands: ``show`` (tree and tensor table), ``dis`` (annotated
disassembly), ``json`` (the loaded tree as JSON), ``scan`` (allowlist
verdict) and ``convert`` (torch checkpoint to safetensors). Nothing a file
names is ever imported or run.

Exit status: 0 on success; 1 when the answer is "no" (``scan``: something is
not clean; ``dis``: the pickle is malformed; ``convert``: the checkpoint holds
nothing that can be converted); 2 for a usage error or input that cannot be
read or loaded.

Modules: :mod:`~emulpickle.cli.parser` (arguments and help), one per
command (``show``, ``dis``, ``json``, ``scan``, ``convert``, each with
``run(args)``), :mod:`~emulpickle.cli.load` (recognise and load a file),
:mod:`~emulpickle.cli.tensors` and :mod:`~emulpickle.cli.tree` (what
``show`` and ``json`` print), :mod:`~emulpickle.cli.output` (tables,
styling, errors), :mod:`~emulpickle.cli.jsonwrite` (an iterative JSON
writer) and :mod:`~emulpickle.cli.plugins` (the plugins' public APIs).
The CLI uses the scanner, the unpickler, the registry, the formats and the
plugins; nothing imports the CLI.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback

from .output import CliError, one_line, print_error
from .parser import build_parser

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the ``emulpickle`` command.

    Args:
        argv: the arguments after the program name; ``sys.argv[1:]`` when
            omitted.

    Returns:
        The exit status: 0 on success, 1 when the answer is "no" (see the
        module documentation), 2 for a usage error or unreadable input.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on usage errors and --help
        return exc.code if isinstance(exc.code, int) else 2
    debug = getattr(args, "debug", False)
    try:
        command = importlib.import_module(f"{__name__}.{args.command}")
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
    except CliError as exc:
        if debug:
            traceback.print_exc()
        print_error(one_line(exc))
        return exc.status
    except Exception as exc:
        if debug:
            traceback.print_exc()
        with_path = not isinstance(exc, OSError) and hasattr(args, "file")
        prefix = f"{args.file}: " if with_path else ""
        print(f"emulpickle: error: {prefix}{one_line(exc)}", file=sys.stderr)
        return 2
