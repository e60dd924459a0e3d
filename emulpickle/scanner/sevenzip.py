"""7z archives: their members, inflated within the scan's bounds (needs py7zr).

No model loader reads 7z, but a 7z of a pickle is a known way past scanners
that skip what they cannot open (nullifAI): whoever extracts it loads the
pickle. Each member is inflated into memory (never to disk), one at a time, and
handed back to be scanned as a zip member is. Before anything is inflated the archive's
declared sizes are checked against the bounds (``Limits.max_archive_members``,
``max_inflated_bytes``, ``max_inflate_ratio``, and
:data:`~.collector.MAX_INFLATED_MEMBER` per member); while inflating, a
member that grows past what was declared, or past the budget, stops the
read there (declared sizes are the archive's word, not a fact).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from .._render import bounded_repr
from ..formats.zip import RATIO_FLOOR
from .collector import MAX_INFLATED_MEMBER, Collector
from .layout import link_escapes

__all__ = ["MISSING", "read_7z"]

#: The error a 7z archive gets when py7zr is not installed.
MISSING = (
    "a 7z archive: not scanned, py7zr is not installed (pip install 'emulpickle[7z]')"
)


class _Budget(Exception):
    """Inflating went past a bound (raised from inside py7zr's writes)."""


class _Reader(io.RawIOBase):
    """A read-only, seekable file over a buffer, read by slicing (no buffer
    export outlives a read, so the scan can close its memory map)."""

    def __init__(self, data: Any) -> None:
        self._data = data
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._pos, len(self._data))[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        chunk = self._data[self._pos : self._pos + len(buffer)]
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


def _sink_factory(
    py7zr_io: Any,
    caps: dict[str, int],
    budget: list[int],
    on_member: Callable[[str, bytes], None],
) -> Any:
    """A py7zr writer factory keeping each member in memory, within bounds,
    and handing it to ``on_member`` when it is complete (py7zr closes it),
    so that one member is held at a time."""

    class Sink(py7zr_io.Py7zIO):  # type: ignore[misc]
        def __init__(self, name: str) -> None:
            self.name = name
            self.buf = bytearray()
            # py7zr names the sink by the member's sanitised name, which
            # may differ from the listed one: then the largest declared.
            self.cap = caps.get(name, max(caps.values(), default=0))
            self.done = False

        def write(self, s: Any) -> int:
            if len(self.buf) + len(s) > self.cap:
                raise _Budget(f"{self.name}: inflates past its declared size")
            if budget[0] < len(s):
                raise _Budget(f"{self.name}: inflates past the budget")
            budget[0] -= len(s)
            self.buf += s
            return len(s)

        def read(self, size: int | None = None) -> bytes:
            return b""

        def seek(self, offset: int, whence: int = 0) -> int:
            return 0

        def flush(self) -> None:
            return None

        def size(self) -> int:
            return len(self.buf)

        def close(self) -> None:
            self.finish()

        def finish(self) -> None:
            if not self.done:
                self.done = True
                data, self.buf = bytes(self.buf), bytearray()
                on_member(self.name, data)

    class Factory(py7zr_io.WriterFactory):  # type: ignore[misc]
        def __init__(self) -> None:
            self.sinks: dict[str, Sink] = {}

        def create(self, filename: str) -> Sink:
            sink = Sink(filename)
            self.sinks[filename] = sink
            return sink

    return Factory()


def read_7z(
    ctx: Collector, data: Any, label: str, on_member: Callable[[str, bytes], None]
) -> None:
    """Hand each member of the 7z archive ``data`` to ``on_member`` as
    ``(name, bytes)``, one at a time; what cannot be read (no py7zr, a
    bound, a corrupt archive, an unsafe name) is an error in ``ctx``."""
    archive = label or "7z archive"
    import importlib

    try:
        # Optional: imported by name, so that type checks pass without it.
        py7zr: Any = importlib.import_module("py7zr")
        py7zr_io: Any = importlib.import_module("py7zr.io")
    except ImportError:
        ctx.error(f"{archive}: {MISSING}")
        return
    limits = ctx.limits

    def member(name: str, buf: bytes) -> None:
        ctx.inflated += len(buf)
        on_member(name, buf)

    try:
        with py7zr.SevenZipFile(_Reader(data), mode="r") as sz:
            if sz.needs_password():
                ctx.error(f"{archive}: encrypted: its members cannot be scanned")
                return
            infos = sz.list()
            if len(infos) > limits.max_archive_members:
                ctx.error(
                    f"{archive}: {len(infos)} members; the limit is "
                    f"{limits.max_archive_members} (Limits.max_archive_members)"
                )
                return
            caps = _declared(ctx, archive, infos, len(data))
            if caps is None:
                return
            budget = [sum(caps.values())]
            factory = _sink_factory(py7zr_io, caps, budget, member)
            try:
                sz.extract(targets=list(caps), factory=factory)
            except _Budget as exc:
                ctx.error(f"{archive}/{exc} (a decompression bomb?): not scanned")
                return
            for sink in factory.sinks.values():
                sink.finish()  # a py7zr that does not close its sinks
    except Exception as exc:  # py7zr raises many kinds on corrupt input
        why = f"{type(exc).__name__}: {bounded_repr(str(exc))}"
        ctx.error(f"{archive}: cannot read the 7z archive ({why})")


def _declared(
    ctx: Collector, archive: str, infos: list[Any], size: int
) -> dict[str, int] | None:
    """The members to inflate, each with its declared size, once the
    declared sizes fit the bounds (else an error and None)."""
    caps: dict[str, int] = {}
    for info in infos:
        name = str(info.filename)
        if info.is_directory:
            continue
        if link_escapes(name.replace("\\", "/")) or name in caps:
            ctx.error(
                f"{archive}: member name {bounded_repr(name)} leaves the archive or "
                "repeats (path traversal when extracted): not scanned"
            )
            continue
        caps[name] = int(info.uncompressed or 0)
    total = sum(caps.values())
    left = ctx.limits.max_inflated_bytes - ctx.inflated
    ratio = max(RATIO_FLOOR, ctx.limits.max_inflate_ratio * size)
    biggest = max(caps.values(), default=0)
    if total > left or total > ratio or biggest > MAX_INFLATED_MEMBER:
        ctx.error(
            f"{archive}: declares {total} bytes inflated from {size} "
            "(Limits.max_inflated_bytes / max_inflate_ratio; a decompression "
            "bomb?): not scanned"
        )
        return None
    return caps
