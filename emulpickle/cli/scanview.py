"""What ``emulpickle scan`` shows on a terminal: a progress bar and a summary table."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import IO

from emulpickle.scanner.filescan import FileResult

__all__ = ["Progress", "human_bytes", "summary_table"]


def human_bytes(n: float) -> str:
    """``n`` bytes for a person: ``512 B``, ``1.2 kB``, ``3.4 GB``."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


class Progress:
    """A one-line progress bar on a terminal's standard error: files done of
    the total, bytes, and findings (not safe) so far; redrawn at most ten
    times a second, and cleared before other output and at the end."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.files = self.bytes = self.findings = 0
        self.total_files = self.total_bytes = 0
        self._last = 0.0
        self._shown = False

    def add(self, result: FileResult) -> None:
        """Count one result and redraw (throttled)."""
        self.files += 1
        self.bytes += result.size
        self.findings += sum(1 for f in result.findings if f.verdict != "safe")
        now = time.monotonic()
        if now - self._last >= 0.1 or self.files == self.total_files:
            self._last = now
            self.draw()

    def draw(self) -> None:
        """Write the bar."""
        total = max(self.total_files, 1)
        width = 24
        filled = width * self.files // total
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(
            f"\r[{bar}] {self.files}/{self.total_files} files, "
            f"{human_bytes(self.bytes)}/{human_bytes(self.total_bytes)}, "
            f"{self.findings} finding{'s' if self.findings != 1 else ''}\x1b[K"
        )
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the bar (before other output goes to the terminal)."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False


def summary_table(
    results: Iterable[FileResult], seconds: float, cached: int
) -> list[str]:
    """The lines of the summary: per format, files, clean, not clean,
    with errors and bytes; then the totals and the speed."""
    rows: dict[str, list[int]] = {}
    for r in results:
        row = rows.setdefault(r.format, [0, 0, 0, 0, 0])
        row[0] += 1
        row[1] += r.clean
        row[2] += not r.clean
        row[3] += bool(r.errors)
        row[4] += r.size
    total = [sum(col) for col in zip(*rows.values(), strict=False)] or [0] * 5
    width = max([len("format"), len("total"), *map(len, rows)])
    head = f"{'format':<{width}}  {'files':>6}  {'clean':>6}  {'not clean':>9}  "
    lines = [head + f"{'errors':>6}  {'bytes':>9}"]

    def line(name: str, row: list[int]) -> str:
        return (
            f"{name:<{width}}  {row[0]:>6}  {row[1]:>6}  {row[2]:>9}  "
            f"{row[3]:>6}  {human_bytes(row[4]):>9}"
        )

    lines += [line(name, rows[name]) for name in sorted(rows)]
    lines.append(line("total", total))
    rate = total[0] / seconds if seconds > 0 else 0.0
    speed = total[4] / seconds if seconds > 0 else 0.0
    lines.append(
        f"{total[0]} file{'s' if total[0] != 1 else ''} in {seconds:.2f} s "
        f"({rate:.1f} files/s, {human_bytes(speed)}/s); {cached} from the cache"
    )
    return lines
