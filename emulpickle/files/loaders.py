"""The loaders :func:`emulpickle.open_file` picks: pickles (one or stacked),
``.npy``, ``.npz`` and torch checkpoints (through the torch plugin).

Nothing here runs what a file names: pickles are read by emulpickle's
:class:`~emulpickle.Unpickler` with the options the caller gave, plain
``.npy`` data by ``numpy.load(allow_pickle=False)``, and torch checkpoints
by the ``emulpickle-torch`` plugin's ``load`` (found by its entry point).
"""

from __future__ import annotations

import importlib
import io
import warnings
from types import ModuleType
from typing import Any

from .._render import bounded_repr
from ..errors import (
    ForbiddenGlobalError,
    LimitExceededError,
    TruncatedError,
    UnpicklingError,
    UnsupportedProtocolError,
)
from ..formats import FormatError, npy
from ..formats import tar as tar_format
from ..formats.npy import NpyHeader
from ..formats.zip import ZipArchive
from ..limits import Limits
from ..unpickler import Unpickler
from .errors import FileFormatError, NotYetReadableError, PluginRequiredError
from .identify import JOBLIB_MESSAGE, names_joblib, not_a_pickle
from .plugins import install_command, plugin_module
from .source import Input

__all__ = [
    "check_torch_tar",
    "format_error",
    "load_npy",
    "load_npz",
    "load_pickles",
    "load_torch",
    "torch_zip_root",
]

#: Errors that say the bytes are malformed as a pickle (not a refusal of
#: what a well-formed pickle asks for): only these can mean "not a pickle".
_MALFORMED = (UnpicklingError, TruncatedError, UnsupportedProtocolError)
_TORCH_WHAT = {
    "torch-zip": "a torch checkpoint (zip format)",
    "torch-legacy": "a torch checkpoint (legacy format)",
    "torch-tar": "a torch checkpoint (legacy tar format)",
}


def _load_one(file: Any, start: int, options: dict[str, Any]) -> object:
    """One pickle from ``file`` (positioned at ``start``); error offsets are
    made offsets in the whole input."""
    try:
        return Unpickler(file, **options).load()
    except UnpicklingError as exc:
        if start and exc.offset is not None:
            exc.offset += start
        raise


def load_pickles(src: Input, options: dict[str, Any]) -> list[object]:
    """Every pickle in ``src``, one after another (``pickle.dump`` called
    repeatedly on one file writes such a stack).

    Raises:
        NotYetReadableError: a joblib file (array data inside the stream).
        FileFormatError: the first pickle fails because the file is not a
            pickle at all (text, another format, random bytes).
        UnpicklingError: a pickle fails (offsets count from the file's start);
            bytes after the last pickle that are not a pickle fail too.
    """
    values: list[object] = []
    with src.open() as f:
        start = 0
        while start < src.size:
            try:
                values.append(_load_one(f, start, options))
            except UnpicklingError as exc:
                if start == 0:
                    _explain_failure(src, exc)
                raise
            start = f.tell()
    return values


def _explain_failure(src: Input, exc: UnpicklingError) -> None:
    """Raise a clearer error when the first pickle's failure means the file
    is a joblib file or no pickle at all; return to re-raise ``exc``."""
    if isinstance(exc, ForbiddenGlobalError) and exc.module.startswith("joblib."):
        raise NotYetReadableError(JOBLIB_MESSAGE, format="joblib") from exc
    if type(exc) not in _MALFORMED:
        return
    with src.mapped() as data:
        if names_joblib(data, 0, exc.offset):
            raise NotYetReadableError(JOBLIB_MESSAGE, format="joblib") from exc
    better = not_a_pickle(src.head(512), exc)
    if better is not None:
        raise better from exc


def _numpy(what: str) -> ModuleType:
    try:
        return importlib.import_module("numpy")
    except ImportError:
        raise PluginRequiredError(
            f"{what}: reading its arrays needs numpy "
            f"({install_command('numpy')}, which installs numpy)",
            format="npy" if what.endswith(".npy file") else "npz",
            plugin="numpy",
            install=install_command("numpy"),
        ) from None


def _plain_array(data: Any, what: str) -> object:
    """A ``.npy`` image of plain data, by ``numpy.load(allow_pickle=False)``."""
    np = _numpy(what)
    try:
        with warnings.catch_warnings():
            # numpy's note on Python 2 headers ("save the file again").
            warnings.simplefilter("ignore", UserWarning)
            return np.load(
                data,
                mmap_mode="r" if isinstance(data, str) else None,
                allow_pickle=False,
            )
    except (ValueError, TypeError, OSError, EOFError) as exc:
        raise FileFormatError(
            f"{what}: cannot read its data: {exc}", format="npy"
        ) from None


def load_npy(src: Input, options: dict[str, Any]) -> tuple[object, NpyHeader]:
    """A ``.npy`` file: its array, and its header.

    Plain data is memory-mapped (a file) by ``numpy.load`` with
    ``allow_pickle=False``; a dtype holding objects means the data is a
    pickle, loaded by emulpickle with ``options``.
    """
    with src.open() as f:
        try:
            header = npy.read_header(f)
        except FormatError as exc:
            raise FileFormatError(f"a .npy file: {exc}", format="npy") from None
        if header.has_objects:
            f.seek(header.data_offset)
            return _load_one(f, header.data_offset, options), header
    data: Any = src.path if src.path is not None else io.BytesIO(src.data or b"")
    return _plain_array(data, "a .npy file"), header


def load_npz(archive: ZipArchive, options: dict[str, Any]) -> dict[str, object]:
    """An ``.npz`` archive as ``numpy.load`` gives it: member name (less
    ``.npy``) -> array; members that are not ``.npy`` images as bytes.

    Object arrays are pickles: loaded by emulpickle with ``options``.
    """
    out: dict[str, object] = {}
    for member in archive.members:
        key = member.name[:-4] if member.name.endswith(".npy") else member.name
        if key in out:
            raise FileFormatError(
                f"an .npz archive lists {bounded_repr(member.name)} twice", format="npz"
            )
        try:
            view = archive.read(member)
        except FormatError as exc:
            raise format_error(exc, "an .npz archive", "npz") from None
        if not npy.is_npy(view):
            out[key] = bytes(view)
            continue
        what = f"member {bounded_repr(member.name)} of an .npz archive"
        try:
            header = npy.parse_header(view)
        except FormatError as exc:
            raise FileFormatError(f"{what}: {exc}", format="npz") from None
        if header.has_objects:
            stream = io.BytesIO(view[header.data_offset :])
            out[key] = _load_one(stream, 0, options)
        else:
            out[key] = _plain_array(io.BytesIO(view), what)
    return out


def torch_zip_root(archive: ZipArchive) -> str | None:
    """The ``data.pkl`` record of a torch zip checkpoint, or None."""
    names = {
        name
        for name in archive.names()
        if name == "data.pkl" or name.endswith("/data.pkl")
    }
    if len(names) > 1:
        raise FileFormatError(
            "a zip archive with several data.pkl records (which one would torch read?)",
            format="zip",
        )
    return names.pop() if names else None


def format_error(exc: FormatError, what: str, kind: str) -> UnpicklingError:
    """A reader's :class:`FormatError` as emulpickle's error: over a limit,
    :class:`~emulpickle.LimitExceededError`; else :class:`FileFormatError`."""
    if exc.limit is not None:
        return LimitExceededError(f"{what}: {exc}", limit=exc.limit)
    return FileFormatError(f"{what}: {exc}", format=kind)


def check_torch_tar(data: Any, limits: Limits) -> None:
    """Refuse a tar archive that is not a legacy torch checkpoint."""
    try:
        members = tar_format.read_members(data, max_members=limits.max_archive_members)
    except FormatError as exc:
        raise format_error(exc, "a tar archive", "tar") from None
    if "pickle" not in members:
        raise FileFormatError(
            "a tar archive, not a torch checkpoint (no 'pickle' member)",
            format="tar",
        )


def load_torch(src: Input, kind: str, options: dict[str, Any]) -> object:
    """A torch checkpoint, by the ``emulpickle-torch`` plugin's ``load``."""
    torch = plugin_module("torch")
    if torch is None:
        command = install_command("torch")
        raise PluginRequiredError(
            f"{_TORCH_WHAT[kind]}; reading it needs the emulpickle-torch "
            f"plugin: {command}",
            format=kind,
            plugin="torch",
            install=command,
        )
    file = src.path if src.path is not None else src.data
    return torch.load(file, **options)
