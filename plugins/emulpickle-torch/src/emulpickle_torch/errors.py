"""Errors specific to torch checkpoints (all :class:`emulpickle.UnpicklingError`)."""

from __future__ import annotations

from emulpickle import UnpicklingError

__all__ = ["TorchFormatError", "TorchScriptArchiveError"]


class TorchFormatError(UnpicklingError):
    """The checkpoint container (zip, legacy stream, records) is malformed."""


class TorchScriptArchiveError(TorchFormatError):
    """The file is a TorchScript archive (``torch.jit.save``), which holds code.

    emulpickle never loads TorchScript: its ``code/`` records are programs.
    """
