"""``open_file``: recognise a file by its contents and load it with the right loader."""

from __future__ import annotations

from typing import Any

from .._frozen import FrozenValue
from .._render import bounded_repr
from ..defaults import first_party_registry
from ..formats import FormatError, SliceSource
from ..formats.compressed import decompress, inflate_limit
from ..formats.magic import HEAD_SIZE, sniff
from ..formats.npy import NpyHeader
from ..formats.zip import ZipArchive
from ..limits import Limits
from ..machine.context import current_limits
from .errors import FileFormatError
from .identify import refuse_kind
from .joblib import NOT_JOBLIB, load_joblib, names_wrapper
from .joblib_compat import load_compat, names_old_wrapper
from .loaders import (
    check_torch_tar,
    format_error,
    load_npy,
    load_npz,
    load_pickles,
    load_torch,
    torch_zip_root,
)
from .source import Input, read_input

__all__ = ["COMPRESSIONS", "FORMATS", "OpenedFile", "open_file"]

#: The formats :func:`open_file` loads (:attr:`OpenedFile.format`).
FORMATS = (
    "pickle",
    "pickles",
    "torch-zip",
    "torch-legacy",
    "torch-tar",
    "npy",
    "npz",
    "joblib",
)
#: The compressed wrappers it opens (:attr:`OpenedFile.compression`).
COMPRESSIONS = ("gzip", "bz2", "xz", "lzma", "zstd", "zlib", "lz4", "compat")
_ARTICLE = {"xz": "an", "lzma": "an"}


class OpenedFile(FrozenValue):
    """What :func:`open_file` found in a file, and the loaded value.

    Attributes:
        format: what the file (inside its compression) is:

            * ``"pickle"``: one pickle; ``value`` is the object;
            * ``"pickles"``: several pickles one after another (what
              ``pickle.dump`` called repeatedly on one file writes);
              ``value`` is the list of all of them;
            * ``"torch-zip"``, ``"torch-legacy"``, ``"torch-tar"``: a
              ``torch.save`` file (zip format; pre-1.6 stream; pre-0.4 tar),
              loaded by the ``emulpickle-torch`` plugin;
            * ``"npy"``: a ``.npy`` file; ``value`` is the array (plain data
              memory-mapped read-only when read from a path; an object
              array's pickle loaded by emulpickle);
            * ``"npz"``: a ``.npz`` archive; ``value`` is a dict, member
              name (without ``.npy``) -> array;
            * ``"joblib"``: a ``joblib.dump`` file with arrays in its
              stream; ``value`` is the object, its arrays real numpy arrays
              (viewed read-only in a memory map when the file is on disk,
              uncompressed and the array aligned; copies otherwise).
        value: the loaded object.
        compression: the wrapper it was decompressed from: ``"gzip"``,
            ``"bz2"``, ``"xz"``, ``"lzma"``, ``"zstd"``, ``"zlib"``
            (joblib's), ``"lz4"`` (joblib's, with the optional ``lz4``
            package), ``"compat"`` (joblib < 0.10's own zlib file), or None.
        npy_header: for ``"npy"``, the parsed header (dtype, shape, order).
        name: the path, or what the input was called.
    """

    _fields = ("format", "value", "compression", "npy_header", "name")
    __slots__ = _fields
    format: str
    value: object
    compression: str | None
    npy_header: NpyHeader | None
    name: str

    def __init__(
        self,
        format: str,
        value: object,
        compression: str | None = None,
        npy_header: NpyHeader | None = None,
        name: str = "",
    ) -> None:
        self._set("format", format)
        self._set("value", value)
        self._set("compression", compression)
        self._set("npy_header", npy_header)
        self._set("name", name)

    def __repr__(self) -> str:
        # The value is the file's: shown bounded, as every such value.
        return (
            f"OpenedFile(format={self.format!r}, value={bounded_repr(self.value)}, "
            f"compression={self.compression!r}, name={bounded_repr(self.name)})"
        )


def open_file(file: Any, /, **options: Any) -> OpenedFile:
    """Recognise what ``file`` is by its contents, and load it.

    Nothing the file names is imported or run: pickles are loaded by
    emulpickle, torch checkpoints by the ``emulpickle-torch`` plugin, plain
    ``.npy``/``.npz`` arrays by ``numpy.load(allow_pickle=False)``. The
    kind is decided by the first bytes (:func:`emulpickle.formats.magic.sniff`),
    never by the file's name. A gzip, bz2, xz, lzma, zlib or (with the
    ``zstandard`` package) zstd wrapper is decompressed, within
    ``Limits.max_inflated_bytes`` and ``Limits.max_inflate_ratio``, and
    what it holds is recognised in turn (one level).

    Args:
        file: a path, a bytes-like object, or a binary file object (read
            from its position to its end; ``sys.stdin.buffer`` works).
        **options: :class:`emulpickle.Unpickler` options for every pickle
            read (``registry``, ``unknown``, ``limits``, hooks...). The
            default registry here is the default one plus the installed
            first-party plugins (as :func:`emulpickle.scan` uses);
            ``unknown`` defaults to ``"error"`` as everywhere. ``limits``
            also bounds archives and decompression.

    Returns:
        An :class:`OpenedFile`: ``format``, ``compression``, ``value``.

    Raises:
        FileFormatError: the file is not something this loads (text, a
            safetensors file, a 7z archive, an empty file, random bytes...);
            the message says what it is, ``.format`` names it.
        PluginRequiredError: a torch checkpoint without the torch plugin
            (or arrays without numpy); ``.install`` says how to install it.
        LimitExceededError: decompression or an archive beyond ``limits``.
        UnpicklingError: a pickle inside fails to load (ForbiddenGlobalError,
            ...); the plugin's errors (``TorchFormatError``...) are
            UnpicklingErrors too.
        OSError: the file cannot be read.
    """
    src = read_input(file)
    if options.get("registry") is None:
        options["registry"] = first_party_registry()
    limits: Limits = options.get("limits") or current_limits()
    return _open(src, options, limits, None, src.path)


def _open(
    src: Input,
    options: dict[str, Any],
    limits: Limits,
    compression: str | None,
    origin: str | None,
) -> OpenedFile:
    """``src`` (decompressed from ``compression``), from the file ``origin``
    (whose directory holds an old joblib file's sibling arrays)."""

    def found(kind: str, value: object, header: NpyHeader | None = None) -> OpenedFile:
        return OpenedFile(kind, value, compression, header, src.name)

    inside = f" inside {_a(compression)}-compressed file" if compression else ""
    if src.size == 0:
        what = "empty data" + inside if compression else "an empty file"
        raise FileFormatError(what, format="empty")
    kind = sniff(src.head(HEAD_SIZE), src.size)
    if kind == "joblib":  # joblib < 0.10's compressed pickle
        kind = "compat"
    if kind in COMPRESSIONS:
        if compression is not None:
            raise FileFormatError(
                f"{_a(kind)}-compressed stream{inside}: only one level of "
                "compression is opened",
                format=kind,
            )
        inner = _decompressed(src, kind, limits)
        return _open(inner, options, limits, kind, origin)
    refused = refuse_kind(kind)
    if refused is not None:
        if inside:
            refused.reason += inside
        raise refused
    if kind == "npy":
        value, header = load_npy(src, options)
        return found("npy", value, header)
    if kind == "zip":
        return found(*_open_zip(src, options, limits))
    if kind in ("torch-legacy", "tar"):
        if kind == "tar":
            with src.mapped() as data:
                check_torch_tar(data, limits)
            kind = "torch-tar"
        return found(kind, load_torch(src, kind, options))
    if names_wrapper(src):
        inflated = compression is not None
        value = load_joblib(src, options, limits, inflated=inflated)
        if value is not NOT_JOBLIB:
            return found("joblib", value)
        if names_old_wrapper(src):
            spent = src.size if inflated else 0
            return found("joblib", load_compat(src, options, limits, origin, spent))
    values = load_pickles(src, options)
    if len(values) == 1:
        return found("pickle", values[0])
    return found("pickles", values)


def _a(kind: str | None) -> str:
    return f"{_ARTICLE.get(kind or '', 'a')} {kind}"


def _decompressed(src: Input, kind: str, limits: Limits) -> Input:
    """The stream a compressed input holds, within the limits."""
    limit, limit_name = inflate_limit(
        src.size, limits.max_inflated_bytes, limits.max_inflate_ratio
    )
    with src.mapped() as data:
        try:
            out = decompress(data, kind, limit, limit_name=limit_name)
        except FormatError as exc:
            raise format_error(exc, f"{_a(kind)}-compressed file", kind) from None
    return Input(src.name, data=bytes(out))


def _open_zip(
    src: Input, options: dict[str, Any], limits: Limits
) -> tuple[str, object]:
    """A zip archive: a torch checkpoint (a ``data.pkl`` record) or an
    ``.npz`` (``.npy`` members), as ``(format, value)``; anything else is
    refused."""
    with src.mapped() as data:
        try:
            # Copies on read: the map stays closable, nothing views it.
            archive = ZipArchive(
                SliceSource(data),
                max_members=limits.max_archive_members,
                max_inflated_bytes=limits.max_inflated_bytes,
                max_inflate_ratio=limits.max_inflate_ratio,
            )
        except FormatError as exc:
            raise format_error(exc, "a zip archive", "zip") from None
        if torch_zip_root(archive) is None and any(
            name.endswith(".npy") for name in archive.names()
        ):
            return "npz", load_npz(archive, options)
        is_torch = torch_zip_root(archive) is not None
    if is_torch:
        return "torch-zip", load_torch(src, "torch-zip", options)
    raise FileFormatError(
        "a zip archive, neither a torch checkpoint (no data.pkl record) nor "
        "an .npz file (no .npy member)",
        format="zip",
    )
