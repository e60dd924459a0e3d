"""Exceptions raised by emulpickle.

Every problem the machine detects in its input is reported as a subclass of
:class:`UnpicklingError`, which itself subclasses :class:`pickle.UnpicklingError`
so existing ``except pickle.UnpicklingError`` handlers keep working.
"""

from __future__ import annotations

import pickle
import shlex

from ._render import bounded_repr

__all__ = [
    "EmulationError",
    "ForbiddenGlobalError",
    "LimitExceededError",
    "PickleNotAllowedError",
    "TruncatedError",
    "UnpicklingError",
    "UnsupportedProtocolError",
]


class UnpicklingError(pickle.UnpicklingError):
    """Malformed, truncated, hostile or over-limit pickle data.

    Attributes:
        reason: what went wrong, without the location.
        offset: byte offset of the opcode that failed, when known.
        opcode: name of the opcode that failed (e.g. ``"GLOBAL"``), when known.
    """

    def __init__(
        self, reason: str, *, offset: int | None = None, opcode: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset
        self.opcode = opcode

    def locate(self, offset: int, opcode: str) -> None:
        """Fill in where the error happened, unless that is already known."""
        if self.offset is None:
            self.offset = offset
        if self.opcode is None:
            self.opcode = opcode

    def _where(self) -> str:
        if self.offset is None:
            return ""
        if self.opcode is None:
            return f" (at offset {self.offset})"
        return f" ({self.opcode} at offset {self.offset})"

    def __str__(self) -> str:
        return self.reason + self._where()


#: Longest part of a global's name a ForbiddenGlobalError message shows.
_MAX_NAME_SHOWN = 300


class TruncatedError(UnpicklingError, EOFError):
    """The data ended before the pickle did (also an :class:`EOFError`)."""


#: How many of the other refused globals a ForbiddenGlobalError message names.
_MAX_OTHERS_SHOWN = 10


class ForbiddenGlobalError(UnpicklingError):
    """The pickle names a global that no emulator answers.

    Attributes:
        module: the module part of the global.
        name: the qualified name inside that module.
        disallowed: every global the pickle names that the registry does not
            answer, as ``(module, name)`` pairs in the order the pickle first
            names them, this one first; the message lists them too (the first
            ten, then how many more). A load refused for a global goes on to
            the pickle's end with inert stand-ins for the refused globals, so
            that all of them are named at once (at most
            ``emulpickle.unpickler.MAX_DISALLOWED``; the load stops there, and
            where anything else stops it, with only the ones named so far).
    """

    def __init__(
        self,
        module: str,
        name: str,
        *,
        offset: int | None = None,
        opcode: str | None = None,
    ) -> None:
        # The names are the pickle's, of any length: the message shows at
        # most _MAX_NAME_SHOWN characters of them (the attributes keep all).
        shown = f"{module}.{name}"
        if len(shown) > _MAX_NAME_SHOWN:
            shown = shown[: _MAX_NAME_SHOWN - 3] + "..."
        super().__init__(
            f"global '{shown}' is not allowed", offset=offset, opcode=opcode
        )
        self.module = module
        self.name = name
        self.disallowed: tuple[tuple[str, str], ...] = ((module, name),)
        # Set by the unpickler: the load stopped before the pickle's end, so
        # ``disallowed`` may be incomplete.
        self._stopped_early = False

    def _others(self) -> str:
        """``; it also names 2 more globals that are not allowed: ...``."""
        others = self.disallowed[1:]
        if not others:
            return ""
        shown = ", ".join(
            bounded_repr(f"{module}.{name}", max_chars=_MAX_NAME_SHOWN)
            for module, name in others[:_MAX_OTHERS_SHOWN]
        )
        if len(others) > _MAX_OTHERS_SHOWN:
            shown += f" and {len(others) - _MAX_OTHERS_SHOWN} more"
        count = len(others)
        text = f"; the pickle also names {count} more global{'s' * (count > 1)}"
        text += f" that {'are' if count > 1 else 'is'} not allowed: {shown}"
        if self._stopped_early:
            text += " (the load stopped there: there may be more)"
        return text

    def __str__(self) -> str:
        if len(self.disallowed) > 1:
            hint = '; register emulators or pass unknown="generic"'
        else:
            hint = '; register an emulator or pass unknown="generic"'
        return self.reason + self._where() + self._others() + hint


class LimitExceededError(UnpicklingError):
    """The input asked for more than a configured :class:`~emulpickle.Limits` allows.

    Attributes:
        limit: which bound was hit. One of the ``Limits`` fields that bound
            work:

            * ``"max_mark_depth"``: too many MARKs open at once;
            * ``"max_emulator_alloc"``: an emulator would allocate more than
              the input holds (``bytearray(10**12)``, a numpy array);
            * ``"max_key_depth"``: a hash key nests too deep;
            * ``"max_key_size"``: hashing a key (or all keys) visits too much;
            * ``"max_hash_collisions"``: too many keys with one hash;
            * ``"max_number_digits"``: a number conversion, or an int key,
              too large;
            * ``"max_inflated_bytes"``: compressed data inflates past the
              load's total;
            * ``"max_inflate_ratio"``: one member or stream inflates too many
              times its size;
            * ``"max_archive_members"``: an archive lists too many members;

            or ``"recursion"``: an object so nested that Python's own
            recursion limit stopped processing it (no ``Limits`` field:
            raise ``sys.setrecursionlimit`` if the data is legitimate).
    """

    def __init__(
        self,
        reason: str,
        *,
        limit: str,
        offset: int | None = None,
        opcode: str | None = None,
    ) -> None:
        super().__init__(reason, offset=offset, opcode=opcode)
        self.limit = limit


class UnsupportedProtocolError(UnpicklingError, ValueError):
    """The pickle asks for a protocol newer than 5 (also a :class:`ValueError`).

    ``pickle`` raises ``ValueError("unsupported pickle protocol: N")`` here;
    this is that error and an :class:`UnpicklingError` at once, so handlers
    written for either keep working.
    """


class EmulationError(UnpicklingError):
    """An emulator rejected the arguments or state the pickle gave it."""


#: The command a PickleNotAllowedError message suggests (file, manifest).
PIN_COMMAND = "emulpickle manifest add {path} -m {manifest}"


class PickleNotAllowedError(UnpicklingError):
    """The process-wide guard refused to unpickle data nobody pinned.

    Raised by :func:`emulpickle.guard` in ``"strict"`` mode (and by
    :func:`emulpickle.no_pickles`) for a pickle whose sha256 is not in the
    manifest, and by the guard's audit-hook backstop when an unpickler the
    guard never saw resolves a global.

    Attributes:
        sha256: lowercase hex digest of the bytes refused (None when the
            backstop refused a global and the bytes are unknown).
        path: the file the pickle came from, when known.
        manifest: the manifest the guard checks, when it has a file.
    """

    def __init__(
        self,
        sha256: str | None,
        *,
        path: str | None = None,
        manifest: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.sha256 = sha256
        self.path = path
        self.manifest = manifest
        what = "pickle data" if path is None else f"pickle file {bounded_repr(path)}"
        if reason is None:
            digest = f"sha256:{sha256}" if sha256 else "sha256 unknown"
            reason = f"{what} ({digest}) is not pinned in the guard's manifest"
        # The path and manifest are the caller's, not the pickle's: shown
        # quoted for a shell, so the command can be pasted as it is.
        command = PIN_COMMAND.format(
            path="PATH" if path is None else shlex.quote(path),
            manifest="MANIFEST" if manifest is None else shlex.quote(manifest),
        )
        super().__init__(f"{reason}; once a person has reviewed it, pin it: {command}")
