"""Files of any kind: :func:`open_file` recognises a file by its contents and loads it.

A raw or stacked pickle, a torch checkpoint (zip, legacy or tar, through the
``emulpickle-torch`` plugin), ``.npy`` and ``.npz`` files, inside a gzip, bz2,
xz, lzma, zlib or zstd wrapper or not; everything else gets an error saying
what the file is (:class:`FileFormatError`) instead of the opcode its first
byte happens to be.

Modules: ``openfile`` (:func:`open_file`, :class:`OpenedFile`), ``source``
(paths, bytes and file objects as one input), ``loaders`` (one per format),
``identify`` (what a file that is not loaded is), ``plugins`` (the
first-party plugins, by entry point, and how to install them), ``errors``.
This package uses the formats, the unpickler and the registries; the
command line uses it.
"""

from __future__ import annotations

from .errors import FileFormatError, NotYetReadableError, PluginRequiredError
from .openfile import COMPRESSIONS, FORMATS, OpenedFile, open_file
from .plugins import install_command, plugin_versions

__all__ = [
    "COMPRESSIONS",
    "FORMATS",
    "FileFormatError",
    "NotYetReadableError",
    "OpenedFile",
    "PluginRequiredError",
    "install_command",
    "open_file",
    "plugin_versions",
]
