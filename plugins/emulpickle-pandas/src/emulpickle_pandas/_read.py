"""``read_pickle``: a pandas pickle file (plain or compressed) as real pandas
objects, like ``pandas.read_pickle`` and without pickle."""

from __future__ import annotations

import os
from typing import Any

import emulpickle
from emulpickle import EmulationError, Registry, bounded_repr, current_limits
from emulpickle.formats import FormatError, SliceSource
from emulpickle.formats.zip import ZipArchive

from ._base import PandasGlobal, fail, resolve_pending

__all__ = ["COMPRESSIONS", "pandas_registry", "read_pickle"]

#: ``compression=`` values -> the wrappers ``open_file`` reports for them.
COMPRESSIONS: dict[str | None, tuple[str | None, ...]] = {
    None: (None,),
    "gzip": ("gzip",),
    "bz2": ("bz2",),
    "xz": ("xz", "lzma"),
    "zstd": ("zstd",),
    "zip": ("zip",),
}
#: What ``compression="infer"`` reads from a path's extension (as pandas).
_EXTENSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}


def _getattr(obj: object, name: object, *default: object) -> object:
    """``getattr`` as pickle protocols < 4 spell ``ZoneInfo._unpickle``;
    nothing else (read_pickle's registry only: scans keep getattr unsafe)."""
    if isinstance(obj, PandasGlobal) and obj.tag == "zoneinfo" and name == "_unpickle":
        return obj
    raise fail(
        "getattr",
        (obj, name),
        "only getattr(zoneinfo.ZoneInfo, '_unpickle') is emulated",
    )


def pandas_registry(parent: Registry | None = None) -> Registry:
    """A registry with the numpy and pandas plugins (what read_pickle uses)."""
    import emulpickle_numpy

    from . import register

    registry = Registry(
        parent=parent or emulpickle.default_registry(), name="emulpickle-pandas"
    )
    emulpickle_numpy.register(registry)
    register(registry)
    registry.register("builtins", "getattr", PandasGlobal("getattr", _getattr))
    return registry


def _zip_member(data: bytes) -> bytes:
    limits = current_limits()
    try:
        archive = ZipArchive(
            SliceSource(memoryview(data)),
            max_members=limits.max_archive_members,
            max_inflated_bytes=limits.max_inflated_bytes,
            max_inflate_ratio=limits.max_inflate_ratio,
        )
        names = [n for n in archive.names() if not n.endswith("/")]
        if len(names) != 1:
            raise EmulationError(
                f"a pandas zip holds one file, this one {bounded_repr(names)}"
            )
        member = archive.get(names[0])
        assert member is not None
        return bytes(archive.read(member))
    except FormatError as exc:
        raise EmulationError(
            f"not a readable zip archive: {bounded_repr(str(exc))}"
        ) from None


def read_pickle(
    path_or_buffer: Any, compression: str | None = "infer", **options: Any
) -> Any:
    """Load a pandas pickle as ``pandas.read_pickle`` would, without pickle.

    Args:
        path_or_buffer: a path (str or ``os.PathLike``), bytes, or a binary
            file object.
        compression: ``"infer"`` (default: from a path's extension, and
            gzip/bz2/xz/zstd are also recognised by their contents),
            ``"gzip"``, ``"bz2"``, ``"xz"``, ``"zstd"``, ``"zip"`` or None.
        **options: :class:`emulpickle.Unpickler` options (``unknown``,
            ``limits``...); ``registry`` defaults to :func:`pandas_registry`.

    Returns:
        What the pickle holds: real DataFrame, Series, Index objects (and
        any other value emulpickle builds).

    Raises:
        emulpickle.UnpicklingError: the file is not a pandas pickle this
            reads, names a global nothing answers (ForbiddenGlobalError), or
            a check failed (EmulationError).
    """
    if compression != "infer" and compression not in COMPRESSIONS:
        raise ValueError(
            "compression must be 'infer', None or one of "
            f"{sorted(k for k in COMPRESSIONS if k)}"
        )
    if options.get("registry") is None:
        options["registry"] = pandas_registry()
    source: Any = path_or_buffer
    if isinstance(source, str | os.PathLike):
        if compression == "infer":
            compression = _EXTENSIONS.get(
                os.path.splitext(os.fspath(source))[1].lower(), "infer"
            )
        if compression == "zip":
            with open(source, "rb") as f:
                source = f.read()
    if compression == "zip":
        if not isinstance(source, bytes | bytearray | memoryview):
            source = source.read()
        source = _zip_member(bytes(source))
        compression = None
    opened = emulpickle.open_file(source, **options)
    if compression != "infer" and opened.compression not in COMPRESSIONS[compression]:
        raise EmulationError(
            f"compression={compression!r} but the data is "
            f"{opened.compression or 'not compressed'}"
        )
    if opened.format != "pickle":
        raise EmulationError(f"not a pandas pickle: {bounded_repr(opened.format)}")
    return resolve_pending(opened.value)
