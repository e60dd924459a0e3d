"""What :func:`emulpickle.open_file` raises when a file is not what it can load."""

from __future__ import annotations

from ..errors import UnpicklingError

__all__ = ["FileFormatError", "NotYetReadableError", "PluginRequiredError"]


class FileFormatError(UnpicklingError):
    """The file is not something :func:`emulpickle.open_file` loads, or its
    container is broken; the message says what the file is.

    An :class:`emulpickle.UnpicklingError`, so that one ``except
    emulpickle.UnpicklingError`` covers everything a file's contents can
    make ``open_file`` raise (as the torch plugin's ``TorchFormatError``
    does), and ``except pickle.UnpicklingError`` keeps working for callers
    that treated every file as a pickle.

    Attributes:
        format: what the file was recognised as: ``"empty"``, ``"text"``,
            ``"safetensors"``, ``"7z"``, ``"zip"`` (neither a torch
            checkpoint nor an ``.npz``), ``"lz4"``, ``"joblib"``, a
            compression wrapped twice (``"gzip"``...), a loadable format
            whose plugin is missing (``"torch-zip"``, ``"npy"``...),
            another known kind (``"hdf5"``, ``"gguf"``, ``"png"``...), or
            ``"unknown"``.
    """

    def __init__(self, reason: str, *, format: str) -> None:
        super().__init__(reason)
        self.format = format


class NotYetReadableError(FileFormatError):
    """A format emulpickle recognises but does not read yet (joblib files
    written by joblib < 0.10: ``format == "joblib"``); ``emulpickle scan``
    reads them."""


class PluginRequiredError(FileFormatError):
    """Reading this file needs a first-party plugin that is not installed.

    Attributes:
        plugin: the plugin's name (``"torch"``, ``"numpy"``).
        install: a ``pip install`` command that installs it (an absolute
            path when emulpickle was installed from a clone that is still
            there, else a path relative to a clone's root).
    """

    def __init__(self, reason: str, *, format: str, plugin: str, install: str) -> None:
        super().__init__(reason, format=format)
        self.plugin = plugin
        self.install = install
