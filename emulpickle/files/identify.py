"""Saying what a file is when it is not something :func:`emulpickle.open_file` loads.

Two moments: before loading, for kinds :func:`emulpickle.formats.magic.sniff`
names that hold no pickle (:func:`refuse_kind`); and after a pickle load
failed, for files that were never pickles (:func:`not_a_pickle`: text, a
known binary format, random bytes) or that are joblib files
(:func:`names_joblib`), so that the error says "a text file" rather than
the opcode a text's first letter happens to be.
"""

from __future__ import annotations

from typing import Any

from .._render import bounded_repr
from ..errors import UnpicklingError
from ..formats.magic import pickle_protocol
from .errors import FileFormatError, NotYetReadableError

__all__ = ["JOBLIB_MESSAGE", "names_joblib", "not_a_pickle", "refuse_kind"]

#: What a joblib file that is not a plain pickle gets (until joblib files
#: are read: then this message and :class:`NotYetReadableError` go).
JOBLIB_MESSAGE = "joblib file: not yet readable (emulpickle scan reads it)"

#: Kinds of :func:`emulpickle.formats.magic.sniff` that hold no pickle to
#: load, and what to say about each.
_REFUSED = {
    "safetensors": (
        "a safetensors file (no pickle in it; read it with the safetensors "
        "library, which runs nothing from the file)"
    ),
    "7z": "a 7z archive (extract it first, then open what it holds)",
}

#: Other well-known formats, by their first bytes, to name in an error.
_MAGIC = (
    (b"\x89HDF\r\n\x1a\n", "hdf5", "an HDF5 file (h5py / Keras), not a pickle"),
    (b"GGUF", "gguf", "a GGUF model file, not a pickle"),
    (b"\x89PNG\r\n\x1a\n", "png", "a PNG image, not a pickle"),
    (b"\xff\xd8\xff", "jpeg", "a JPEG image, not a pickle"),
    (b"%PDF-", "pdf", "a PDF document, not a pickle"),
    (b"\x7fELF", "elf", "an ELF executable or library, not a pickle"),
    (b"SQLite format 3\x00", "sqlite", "an SQLite database, not a pickle"),
)
#: A failed load that got this far into the file read something like a
#: pickle: its own error says more than "not a pickle".
_EARLY = 64
#: How much of a text file's start a message shows.
_TEXT_SHOWN = 40


def refuse_kind(kind: str) -> FileFormatError | None:
    """The error for a sniffed kind that holds no pickle, or None."""
    if kind == "joblib":
        return NotYetReadableError(
            f"{JOBLIB_MESSAGE}; written by joblib < 0.10", format="joblib"
        )
    what = _REFUSED.get(kind)
    return None if what is None else FileFormatError(what, format=kind)


def _text_start(head: bytes) -> str | None:
    """The decoded start of ``head`` if it reads as UTF-8 text, else None."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end
            return None
        text = head[: exc.start].decode("utf-8")
    if not text or any(not (c.isprintable() or c in "\t\n\r\f\v") for c in text):
        return None
    return text


def not_a_pickle(head: bytes, error: UnpicklingError) -> FileFormatError | None:
    """What a file whose first pickle failed to load with ``error`` is, when
    it is not a (damaged) pickle at all; ``head`` is its first bytes."""
    for magic, kind, what in _MAGIC:
        if head.startswith(magic):
            return FileFormatError(what, format=kind)
    if pickle_protocol(head) is not None:
        return None  # it declares a pickle protocol: a damaged pickle
    text = _text_start(head)
    if text is not None:
        start = " ".join(text.split())[:_TEXT_SHOWN]
        return FileFormatError(
            f"a text file, not a pickle (it starts {bounded_repr(start)})",
            format="text",
        )
    if error.offset is not None and error.offset >= _EARLY:
        return None
    return FileFormatError(
        f"not a pickle, nor a format emulpickle reads (read as a pickle: {error})",
        format="unknown",
    )


def names_joblib(data: Any, start: int, end: int | None) -> bool:
    """Whether the pickle at ``data[start:]`` names a ``joblib`` global at
    or before offset ``end`` (where its load failed): ``joblib.dump``
    writes array data inside the pickle stream, after each
    ``joblib.numpy_pickle.NumpyArrayWrapper``."""
    # Imported here: the disassembler imports attrs, which ``import
    # emulpickle`` must not (its import time), and only failures get here.
    from ..disasm import disassemble

    try:
        for ins in disassemble(data, start=start):
            if end is not None and ins.offset > end:
                break
            ref = ins.global_ref
            module = ref.module if ref is not None else None
            if module is not None and module.split(".")[0] == "joblib":
                return True
            if ins.opcode == "STOP":
                break
    except UnpicklingError:
        pass
    return False
