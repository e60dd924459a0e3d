"""What the ``emulpickle`` command prints: tables, styling, errors.

Output is styled with rich only on a terminal, with ``NO_COLOR`` unset and
rich installed; otherwise it is plain text. Errors are one line on standard
error, ``emulpickle: error: ...``, raised anywhere in the CLI as
:class:`CliError`.
"""

from __future__ import annotations

import os
import sys
from typing import IO

__all__ = [
    "PROG",
    "CliError",
    "human_bytes",
    "one_line",
    "print_error",
    "print_table",
    "use_rich",
]

PROG = "emulpickle"


class CliError(Exception):
    """A problem reported as ``emulpickle: error: ...`` with an exit status."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def use_rich(stream: IO[str]) -> bool:
    """Whether to style output: a terminal, NO_COLOR unset, rich installed."""
    if os.environ.get("NO_COLOR") or not stream.isatty():
        return False
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (its type name when it has none,
    or when the message alone would not say what happened)."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, (MemoryError, RecursionError)) or not str(exc):
        text = f"{type(exc).__name__}: {text}" if str(exc) else text
    return " ".join(text.split())


def print_error(message: str) -> None:
    """Print ``emulpickle: error: message`` on standard error, after
    flushing what standard output holds (so the two stay in order)."""
    sys.stdout.flush()
    print(f"{PROG}: error: {message}", file=sys.stderr)


def print_table(
    headers: list[str], rows: list[list[str]], right: set[int], title: str
) -> None:
    """Print a table with a title; columns in ``right`` are right-aligned."""
    if use_rich(sys.stdout):
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for i, header in enumerate(headers):
            # Wrapped, never cut at the end: two names may differ only there.
            table.add_column(
                header, justify="right" if i in right else "left", overflow="fold"
            )
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


def human_bytes(n: int | None) -> str:
    """``1.5 MiB`` style; ``-`` when the size is unknown."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
